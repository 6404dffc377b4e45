package dev.kvslim.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A local fleet, on loopback only: {@code replicas} {@code kvslim serve} processes behind HAProxy (least
 * connections, health checks on {@code /ready}, retries on connection failures), and streaming clients through it for
 * a while, during which one replica is killed with SIGKILL and another drained with SIGTERM. Every request must either
 * complete with the text a sequential greedy request gave for its prompt before the load, or fail with an error the
 * client sees (a status, a stream cut short); none may hang or come back wrong ({@code lost}); every request the
 * drained replica had taken must complete. Throughput is compared with one replica alone, measured first with the
 * same clients.
 */
public final class FleetBenchmark {

    /**
     * @param model    the model to serve (a path)
     * @param replicas how many servers
     * @param clients  concurrent streaming clients
     * @param duration how long clients start new requests through the balancer
     * @param killAt   when the first replica is killed (SIGKILL)
     * @param drainAt  when the second replica is drained (SIGTERM)
     * @param mainClass the command line's main class, run as {@code MAIN serve ...} in each replica's JVM (with the
     *                 caller's class path)
     */
    public record Options(
            Path model,
            int replicas,
            int clients,
            Duration duration,
            Duration killAt,
            Duration drainAt,
            String mainClass) {}

    /**
     * @param completed       requests answered in full with the expected text
     * @param failed          requests the client saw fail (a status other than 200, a stream cut short)
     * @param lost            requests that hung or came back with a wrong text (must be 0)
     * @param drainedFailed   streams the drained replica had begun that did not complete (must be 0)
     * @param perReplica      completed requests by replica
     * @param tokensPerSecond tokens the clients received per second through the balancer
     * @param singleTokensPerSecond the same against one replica alone
     * @param counters        the surviving replica's answers as the clients, HAProxy and the replica count them
     * @param countersAgree   whether the three counts are equal
     */
    public record Result(
            int completed,
            int failed,
            int lost,
            int drainedFailed,
            List<String> perReplica,
            double tokensPerSecond,
            double singleTokensPerSecond,
            String counters,
            boolean countersAgree) {

        public boolean passed() {
            return lost == 0 && drainedFailed == 0 && completed > 0 && countersAgree;
        }

        public void print(PrintStream out) {
            out.printf(
                    Locale.ROOT,
                    "fleet: %d completed, %d failed (seen by the client), %d lost; requests on the drained replica that"
                            + " did not complete: %d%n",
                    completed,
                    failed,
                    lost,
                    drainedFailed);
            out.printf("completed by replica: %s%n", String.join(", ", perReplica));
            out.printf("counters of the surviving replica: %s%n", counters);
            out.printf(
                    Locale.ROOT,
                    "throughput: %.1f tokens/s through the balancer, %.1f tokens/s from one replica alone (%.2fx)%n",
                    tokensPerSecond,
                    singleTokensPerSecond,
                    tokensPerSecond / singleTokensPerSecond);
            out.println(passed() ? "fleet: PASSED" : "fleet: FAILED");
        }
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String[] PROMPTS = {
        "needle", "vartrack", "arithmetic", "runsum", "Once upon a time", "The little dog", "One day", "Tom liked to"
    };
    private static final int MAX_TOKENS = 32;

    private FleetBenchmark() {}

    /** Runs the fleet, logging what happens to {@code log}. */
    public static Result run(Options o, PrintStream log) throws Exception {
        String haproxy = haproxy(log);
        Path dir = Files.createTempDirectory("kvslim-fleet");
        List<Process> replicas = new ArrayList<>();
        List<Integer> ports = new ArrayList<>();
        Process balancer = null;
        try {
            for (int r = 0; r < o.replicas(); r++) {
                int port = freePort();
                ports.add(port);
                replicas.add(startReplica(o, port, dir.resolve("replica" + (r + 1) + ".log")));
            }
            for (int port : ports) {
                awaitReady(port, Duration.ofMinutes(2));
            }
            log.println("fleet: " + o.replicas() + " replicas ready on ports " + ports);
            String model = modelName(ports.getFirst());
            String[] expected = new String[PROMPTS.length];
            for (int i = 0; i < PROMPTS.length; i++) {
                Answer a = stream(ports.getFirst(), body(model, i));
                if (!a.done) {
                    throw new IllegalStateException("the sequential run of prompt " + i + " failed: " + a.error);
                }
                expected[i] = a.text;
            }
            // one replica alone, the same clients, a sixth of the time (at least 10 s)
            Duration alone = Duration.ofSeconds(Math.max(10, o.duration().toSeconds() / 6));
            Load single = load(ports.getFirst(), model, expected, o.clients(), alone, null, log);
            log.printf(Locale.ROOT, "fleet: one replica alone: %.1f tokens/s%n", single.tokensPerSecond());

            int front = freePort();
            int stats = freePort();
            Path cfg = dir.resolve("haproxy.cfg");
            Files.writeString(cfg, config(front, ports, stats));
            balancer = new ProcessBuilder(haproxy, "-f", cfg.toString(), "-db")
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("haproxy.log").toFile())
                    .start();
            awaitReady(front, Duration.ofSeconds(30));
            log.println("fleet: HAProxy on port " + front);
            List<Process> r = replicas;
            Runnable faults = () -> {
                sleep(o.killAt());
                log.println("fleet: kill -9 replica1");
                r.get(0).destroyForcibly();
                sleep(o.drainAt().minus(o.killAt()));
                log.println("fleet: SIGTERM (drain) replica2");
                r.get(1).destroy();
            };
            Load fleet = load(front, model, expected, o.clients(), o.duration(), faults, log);
            List<String> perReplica = new ArrayList<>();
            for (int i = 1; i <= o.replicas(); i++) {
                perReplica.add("replica" + i + " " + fleet.byReplica.getOrDefault("replica" + i, new AtomicInteger()));
            }
            AtomicInteger drainedFailed = fleet.failedByReplica.getOrDefault("replica2", new AtomicInteger());
            // the last replica saw only the balancer's traffic: the clients, HAProxy and the replica must agree on it
            String last = "replica" + o.replicas();
            int byClients =
                    fleet.byReplica.getOrDefault(last, new AtomicInteger()).get()
                            + fleet.failedByReplica
                                    .getOrDefault(last, new AtomicInteger())
                                    .get();
            long byBalancer = balancer2xx(stats, last);
            long byReplica = (long) metric(ports.get(o.replicas() - 1), "kvslim:request_success_total");
            String counters = String.format(
                    Locale.ROOT,
                    "%s: %d answers by the clients' count, %d 2xx by HAProxy's, %d finished by its own",
                    last,
                    byClients,
                    byBalancer,
                    byReplica);
            // the drained replica exits once its requests are done
            boolean drained = replicas.get(1).waitFor(60, TimeUnit.SECONDS);
            if (!drained) {
                log.println("fleet: the drained replica did not exit within 60 s");
            }
            return new Result(
                    fleet.completed.get(),
                    fleet.failed.get(),
                    fleet.lost.get() + (drained ? 0 : 1),
                    drainedFailed.get(),
                    perReplica,
                    fleet.tokensPerSecond(),
                    single.tokensPerSecond(),
                    counters,
                    byClients == byBalancer && byBalancer == byReplica);
        } finally {
            if (balancer != null) {
                balancer.destroy();
                balancer.waitFor(10, TimeUnit.SECONDS);
            }
            for (Process p : replicas) {
                p.destroy();
            }
            for (Process p : replicas) {
                if (!p.waitFor(40, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            log.println("fleet: logs in " + dir);
        }
    }

    /** HAProxy's path; installed from Debian's packages when missing and allowed (root with apt-get). */
    static String haproxy(PrintStream log) throws Exception {
        for (String dir :
                System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin").split(":", -1)) {
            if (Files.isExecutable(Path.of(dir, "haproxy"))) {
                return Path.of(dir, "haproxy").toString();
            }
        }
        for (String known : new String[] {"/usr/sbin/haproxy", "/usr/bin/haproxy"}) {
            if (Files.isExecutable(Path.of(known))) {
                return known;
            }
        }
        boolean root = "root".equals(System.getProperty("user.name"));
        if (root && Files.isExecutable(Path.of("/usr/bin/apt-get"))) {
            log.println("fleet: installing haproxy (apt-get, without recommended packages)...");
            Process p = new ProcessBuilder(
                            "sh",
                            "-c",
                            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq"
                                    + " --no-install-recommends haproxy")
                    .inheritIO()
                    .start();
            if (p.waitFor() == 0 && Files.isExecutable(Path.of("/usr/sbin/haproxy"))) {
                return "/usr/sbin/haproxy";
            }
        }
        throw new IllegalStateException("the fleet test needs HAProxy: install Debian's haproxy package"
                + " (apt-get install haproxy), or run as root with apt-get so it installs itself");
    }

    static String config(int front, List<Integer> ports) {
        return config(front, ports, 0);
    }

    /** The balancer's configuration; with a {@code stats} port, HAProxy's statistics as CSV at /stats;csv there. */
    static String config(int front, List<Integer> ports, int stats) {
        StringBuilder s = new StringBuilder("""
                global
                    maxconn 4096
                defaults
                    mode http
                    timeout connect 1s
                    timeout client 120s
                    timeout server 120s
                    retries 3
                    retry-on conn-failure empty-response 503
                    option http-buffer-request
                    option redispatch
                frontend fleet
                """);
        s.append("    bind 127.0.0.1:").append(front).append('\n');
        s.append("""
                    default_backend replicas
                backend replicas
                    balance leastconn
                    option httpchk
                    http-check send meth GET uri /ready ver HTTP/1.1 hdr Host localhost
                    http-check expect status 200
                    http-response set-header x-replica %s
                    default-server check inter 500ms fall 1 rise 2
                """);
        for (int i = 0; i < ports.size(); i++) {
            s.append("    server replica")
                    .append(i + 1)
                    .append(" 127.0.0.1:")
                    .append(ports.get(i))
                    .append('\n');
        }
        if (stats > 0) {
            s.append("frontend stats\n    bind 127.0.0.1:")
                    .append(stats)
                    .append("\n    stats enable\n    stats uri /stats\n");
        }
        return s.toString();
    }

    private static Process startReplica(Options o, int port, Path logFile) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m", "-XX:MaxNewSize=64m"));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-modules")
                    || a.startsWith("--enable-native-access")
                    || a.startsWith("-XX:CompileCommandFile=")
                    || a.equals("jdk.incubator.vector")) {
                cmd.add(a);
            }
        }
        if (!cmd.contains("jdk.incubator.vector") && cmd.stream().noneMatch(a -> a.contains("jdk.incubator.vector"))) {
            cmd.addAll(List.of("--add-modules", "jdk.incubator.vector"));
        }
        cmd.addAll(List.of(
                "-cp",
                System.getProperty("java.class.path"),
                o.mainClass(),
                "serve",
                "--model",
                o.model().toAbsolutePath().toString(),
                "--port",
                Integer.toString(port),
                "--kv-budget",
                Long.toString(64L << 20)));
        return new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(logFile.toFile())
                .start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitReady(int port, Duration timeout) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                HttpResponse<String> r = http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ready"))
                                .timeout(Duration.ofSeconds(2))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "nothing ready on port " + port + " after " + timeout.toSeconds() + " s");
            }
            Thread.sleep(200);
        }
    }

    /** HAProxy's count of 2xx answers from {@code server}, from its statistics CSV. */
    private static long balancer2xx(int statsPort, String server) throws Exception {
        String csv = get(statsPort, "/stats;csv");
        String[] lines = csv.split("\n", -1);
        List<String> header = List.of(lines[0].replaceFirst("^# ", "").split(",", -1));
        int name = header.indexOf("svname"), ok = header.indexOf("hrsp_2xx");
        for (String line : lines) {
            String[] f = line.split(",", -1);
            if (f.length > ok && f[name].equals(server)) {
                return Long.parseLong(f[ok]);
            }
        }
        throw new IllegalStateException("no statistics of " + server + " in HAProxy's CSV");
    }

    /** The sum of a metric's series on a replica. */
    private static double metric(int port, String name) throws Exception {
        String text = get(port, "/metrics");
        double sum = 0;
        for (String line : text.split("\n", -1)) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** The body of a GET on the loopback port. */
    private static String get(int port, String path) throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }

    private static String modelName(int port) throws Exception {
        return JSON.readTree(get(port, "/v1/models"))
                .get("data")
                .get(0)
                .get("id")
                .asString();
    }

    private static String body(String model, int prompt) {
        return "{\"model\": " + JSON.writeValueAsString(model) + ", \"prompt\": "
                + JSON.writeValueAsString(PROMPTS[prompt]) + ", \"max_tokens\": " + MAX_TOKENS
                + ", \"temperature\": 0, \"ignore_eos\": true, \"stream\": true}";
    }

    /** What one streamed request got. */
    private static final class Answer {
        boolean done;
        boolean hung;
        int status;
        String error;
        String replica;
        String text = "";
        int tokens;
    }

    private static Answer stream(int port, String body) {
        Answer a = new Answer();
        StringBuilder text = new StringBuilder();
        try (SseClient c = new SseClient(port, "/v1/completions", body, 60_000)) {
            a.status = c.status();
            a.replica = c.header("x-replica");
            if (a.status != 200) {
                a.error = "status " + a.status;
                return a;
            }
            for (String e; (e = c.nextEvent()) != null; ) {
                if (e.equals("[DONE]")) {
                    a.done = true;
                    break;
                }
                JsonNode choice = JSON.readTree(e).get("choices").get(0);
                text.append(choice.get("text").asString());
                a.tokens++;
            }
            if (!a.done) {
                a.error = "the stream ended without [DONE]";
            }
        } catch (SocketTimeoutException e) {
            a.hung = true;
            a.error = "no data for 60 s";
        } catch (IOException | RuntimeException e) {
            a.error = e.toString();
        }
        a.text = text.toString();
        return a;
    }

    private static final class Load {
        final AtomicInteger completed = new AtomicInteger(), failed = new AtomicInteger(), lost = new AtomicInteger();
        final AtomicLong tokens = new AtomicLong();
        final ConcurrentHashMap<String, AtomicInteger> byReplica = new ConcurrentHashMap<>();
        final ConcurrentHashMap<String, AtomicInteger> failedByReplica = new ConcurrentHashMap<>();
        double seconds;

        double tokensPerSecond() {
            return tokens.get() / seconds;
        }
    }

    private static Load load(
            int port, String model, String[] expected, int clients, Duration duration, Runnable faults, PrintStream log)
            throws Exception {
        Load l = new Load();
        long start = System.nanoTime();
        long deadline = start + duration.toNanos();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> all = new ArrayList<>();
            if (faults != null) {
                all.add(pool.submit(faults));
            }
            for (int c = 0; c < clients; c++) {
                int client = c;
                all.add(pool.submit(() -> {
                    for (int k = 0; System.nanoTime() < deadline; k++) {
                        int prompt = (client + k) % PROMPTS.length;
                        Answer a = stream(port, body(model, prompt));
                        l.tokens.addAndGet(a.tokens);
                        if (a.done && a.text.equals(expected[prompt])) {
                            l.completed.incrementAndGet();
                            l.byReplica
                                    .computeIfAbsent(String.valueOf(a.replica), x -> new AtomicInteger())
                                    .incrementAndGet();
                        } else if (a.hung || a.done) {
                            l.lost.incrementAndGet(); // a hang, or an answer not the prompt's
                            log.println("fleet: lost: " + (a.hung ? a.error : "a different text from " + a.replica));
                        } else {
                            l.failed.incrementAndGet();
                            if (a.replica != null && a.status == 200) { // a stream it had begun and then broke
                                l.failedByReplica
                                        .computeIfAbsent(a.replica, x -> new AtomicInteger())
                                        .incrementAndGet();
                            }
                            Thread.sleep(20);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get();
            }
        }
        l.seconds = (System.nanoTime() - start) / 1e9;
        return l;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

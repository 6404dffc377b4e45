package dev.kvslim.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * deploy/ checked offline: every Kubernetes object parses into fabric8's API types (generated from the Kubernetes
 * OpenAPI schemas) with no field left over and every value of its type; the pieces fit together (probes on the
 * server's endpoints, grace longer than its drain, selectors, ports, the autoscaler's metric as the adapter names it);
 * the InferencePool follows the Gateway API Inference Extension's v1 fields (hand-written rules: no library carries
 * its schema); every series the Grafana dashboard and the adapter query exists on a running server.
 */
class DeployManifestsTest {

    static final Path DEPLOY = Path.of("..", "deploy");
    static final YAMLMapper YAML = YAMLMapper.builder().build();
    static final JsonMapper JSON = JsonMapper.builder().build();

    static String metrics;

    @BeforeAll
    static void start() throws Exception {
        ServerTest.start();
        ServerTest.client.ok("/v1/completions", ServerTest.completion("One day", 3, ""));
        metrics = ServerTest.client.get("/metrics").body();
    }

    @AfterAll
    static void stop() {
        ServerTest.stop();
    }

    static List<JsonNode> documents(String file) throws Exception {
        List<JsonNode> docs = new ArrayList<>();
        for (String part : Files.readString(DEPLOY.resolve(file)).split("(?m)^---\\s*$", -1)) {
            JsonNode doc = YAML.readTree(part);
            if (doc != null && !doc.isMissingNode() && !doc.isNull()) {
                docs.add(doc);
            }
        }
        return docs;
    }

    /** Parses {@code doc} as {@code type} and fails on any field the API type does not have. */
    static <T> T strict(JsonNode doc, Class<T> type) {
        T value = JSON.treeToValue(doc, type);
        List<String> extra = new ArrayList<>();
        unknownFields(value, type.getSimpleName(), extra, new IdentityHashMap<>());
        assertThat(extra).as("fields %s does not have", type.getSimpleName()).isEmpty();
        return value;
    }

    private static void unknownFields(Object o, String at, List<String> extra, Map<Object, Boolean> seen) {
        if (o == null || seen.put(o, true) != null) {
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) {
                unknownFields(e, at + "[" + i++ + "]", extra, seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            m.forEach((k, v) -> unknownFields(v, at + "." + k, extra, seen));
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.")) {
            return;
        }
        for (Method g : o.getClass().getMethods()) {
            if (g.getParameterCount() != 0 || !g.getName().startsWith("get") || g.getDeclaringClass() == Object.class) {
                continue;
            }
            Object v;
            try {
                v = g.invoke(o);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            if (g.getName().equals("getAdditionalProperties")) {
                if (v instanceof Map<?, ?> m && !m.isEmpty()) {
                    extra.add(at + ": " + m.keySet());
                }
            } else {
                unknownFields(v, at + "." + g.getName().substring(3), extra, seen);
            }
        }
    }

    @Test
    void theKubernetesObjectsParseIntoTheirApiTypesAndFitTogether() throws Exception {
        List<JsonNode> docs = documents("kubernetes/kvslim.yaml");
        assertThat(docs)
                .extracting(d -> d.get("kind").asString())
                .containsExactly("Deployment", "Service", "HorizontalPodAutoscaler");
        Deployment deployment = strict(docs.get(0), Deployment.class);
        Service service = strict(docs.get(1), Service.class);
        HorizontalPodAutoscaler hpa = strict(docs.get(2), HorizontalPodAutoscaler.class);

        Map<String, String> labels =
                deployment.getSpec().getTemplate().getMetadata().getLabels();
        assertThat(deployment.getSpec().getSelector().getMatchLabels()).isEqualTo(labels);
        assertThat(service.getSpec().getSelector()).isEqualTo(labels);
        Container c =
                deployment.getSpec().getTemplate().getSpec().getContainers().getFirst();
        assertThat(c.getArgs()).startsWith("serve");
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/ready");
        assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/health");
        int port = c.getPorts().getFirst().getContainerPort();
        assertThat(c.getArgs()).containsSequence("--port", Integer.toString(port));
        assertThat(service.getSpec().getPorts().getFirst().getTargetPort().getStrVal())
                .isEqualTo(c.getPorts().getFirst().getName());
        assertThat(c.getResources().getLimits()).containsKey("memory");
        assertThat(deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds())
                .as("longer than the server's drain")
                .isGreaterThan(ServeConfig.defaults(null).shutdownGrace().toSeconds());
        assertThat(deployment
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getSecurityContext()
                        .getRunAsNonRoot())
                .isTrue();

        assertThat(hpa.getSpec().getScaleTargetRef().getName())
                .isEqualTo(deployment.getMetadata().getName());
        String metric =
                hpa.getSpec().getMetrics().getFirst().getPods().getMetric().getName();

        ConfigMap adapter =
                strict(documents("kubernetes/prometheus-adapter.yaml").getFirst(), ConfigMap.class);
        JsonNode rule =
                YAML.readTree(adapter.getData().get("config.yaml")).get("rules").get(0);
        assertThat(rule.get("name").get("as").asString())
                .as("the autoscaler's metric")
                .isEqualTo(metric);
        Matcher series = Pattern.compile("^(kvslim:[a-z_]+)\\{")
                .matcher(rule.get("seriesQuery").asString());
        assertThat(series.find()).isTrue();
        assertThat(metrics).contains(series.group(1) + "{");
    }

    @Test
    void theInferencePoolSelectsTheServersPodsAndPort() throws Exception {
        JsonNode pool = documents("kubernetes/inferencepool.yaml").getFirst();
        Deployment deployment = strict(documents("kubernetes/kvslim.yaml").getFirst(), Deployment.class);
        assertThat(pool.get("apiVersion").asString()).isEqualTo("inference.networking.k8s.io/v1");
        assertThat(pool.get("kind").asString()).isEqualTo("InferencePool");
        assertThat(pool.get("metadata").get("name").asString()).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
        JsonNode spec = pool.get("spec");
        Set<String> fields = new TreeSet<>(spec.propertyNames());
        assertThat(fields).containsExactlyInAnyOrder("selector", "targetPorts", "endpointPickerRef");
        Map<String, String> selector = new java.util.LinkedHashMap<>();
        for (String k : spec.get("selector").get("matchLabels").propertyNames()) {
            selector.put(k, spec.get("selector").get("matchLabels").get(k).asString());
        }
        assertThat(selector)
                .isEqualTo(deployment.getSpec().getTemplate().getMetadata().getLabels());
        assertThat(spec.get("targetPorts")).hasSize(1);
        assertThat(spec.get("targetPorts").get(0).get("number").asInt())
                .isEqualTo(deployment
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getContainers()
                        .getFirst()
                        .getPorts()
                        .getFirst()
                        .getContainerPort());
        JsonNode picker = spec.get("endpointPickerRef");
        assertThat(picker.get("name").asString()).isNotBlank();
        assertThat(picker.get("port").get("number").asInt()).isBetween(1, 65535);
        assertThat(picker.get("failureMode").asString()).isIn("FailOpen", "FailClose");
        // the pickers score by these, under vLLM's names (metrics_names both, the default)
        assertThat(metrics)
                .contains("vllm:num_requests_waiting{", "vllm:num_requests_running{", "vllm:kv_cache_usage_perc{");
    }

    @Test
    void everySeriesTheGrafanaDashboardDrawsExists() throws Exception {
        JsonNode dashboard = JSON.readTree(Files.readString(DEPLOY.resolve("grafana/kvslim-dashboard.json")));
        assertThat(dashboard.get("panels").size()).isGreaterThanOrEqualTo(10);
        Set<String> names = new TreeSet<>();
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.get("targets")) {
                Matcher m = Pattern.compile("kvslim:[a-z_]+")
                        .matcher(target.get("expr").asString());
                while (m.find()) {
                    names.add(m.group());
                }
            }
        }
        assertThat(names)
                .contains(
                        "kvslim:kv_compression_ratio",
                        "kvslim:kv_tokens_evicted_total",
                        "kvslim:prefix_cache_hits_total",
                        "kvslim:time_to_first_token_seconds_bucket");
        // every one is a metric the server declares (some have no series until counted: no eviction without DMS)
        List<String> declared = new dev.kvslim.serve.metrics.ServerMetrics().names();
        for (String name : names) {
            assertThat(declared).as(name).contains(name.replaceAll("_(total|bucket|sum|count)$", ""));
        }
    }

    @Test
    void haproxyRoutesAConversationByItsSessionHeaderAndChecksReadiness() throws Exception {
        String cfg = Files.readString(DEPLOY.resolve("haproxy/haproxy.cfg"));
        assertThat(cfg)
                .contains(
                        "balance hdr(x-session-id)",
                        "hash-type consistent",
                        "http-check send meth GET uri /ready ver HTTP/1.1")
                .containsPattern("retry-on [a-z -]*conn-failure");
        // where Debian's haproxy is installed (bench --fleet installs it), HAProxy itself accepts the file
        Path haproxy = Path.of("/usr/sbin/haproxy");
        if (Files.isExecutable(haproxy)) {
            Process p = new ProcessBuilder(
                            haproxy.toString(),
                            "-c",
                            "-f",
                            DEPLOY.resolve("haproxy/haproxy.cfg").toString())
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(out).isZero();
        }
        // the server hands the header back, so a client sees which conversation an answer belongs to
        var r = ServerTest.client.post(
                "/v1/completions",
                ServerTest.completion("One day", 2, ""),
                "application/json",
                "x-session-id",
                "abc-1");
        assertThat(r.headers().firstValue("x-session-id")).contains("abc-1");
    }
}

package dev.kvslim.serve.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.core.format.ModelLoader;
import dev.kvslim.core.testing.DmsAdapters;
import dev.kvslim.core.testing.Fixtures;
import dev.kvslim.serve.HeadlessChromium;
import dev.kvslim.serve.KvSlimServer;
import dev.kvslim.serve.ServeConfig;
import dev.kvslim.serve.auth.ApiKeys;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The dashboard at {@code /}: its data endpoint after some traffic, and the page in headless Chromium drawing its
 * charts and heat map from it. Two models are served: stories260K as is ({@code plain}) and retrofitted with a random
 * DMS adapter ({@code dms}), whose heads evict.
 */
class DashboardTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static KvSlimServer server;
    private static String base;

    @BeforeAll
    static void start() throws Exception {
        LoadedModel plain =
                ModelLoader.load(Fixtures.path("stories260K/stories260K.bin"), Fixtures.path("stories260K/tok512.bin"));
        LoadedModel dms = new LoadedModel(
                plain.path(),
                plain.format(),
                DmsAdapters.withAdapter(plain.model(), 8, false, false),
                plain.tokenizer(),
                plain.generation(),
                null);
        Map<String, LoadedModel> models = new LinkedHashMap<>();
        models.put("plain", plain);
        models.put("dms", dms);
        server = KvSlimServer.start(
                models,
                ServeConfig.defaults()
                        .withPort(0)
                        .withKeys(ApiKeys.OPEN)
                        .withKvBudget(1L << 26)
                        .withShutdownGrace(Duration.ofSeconds(5)));
        base = "http://127.0.0.1:" + server.port();
        for (String model : models.keySet()) {
            String body = "{\"model\": \"" + model + "\", \"prompt\": \"Once upon a time\", \"max_tokens\": 60,"
                    + " \"temperature\": 0, \"ignore_eos\": true}";
            HttpResponse<String> r = HTTP.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void dataEndpointReportsSeriesAndPerHeadEvictionRates() throws Exception {
        HttpResponse<String> r = get("/dashboard/data");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode models = JSON.readTree(r.body()).get("models");
        assertThat(models.findValuesAsString("name")).containsExactly("plain", "dms");
        JsonNode plain = models.get(0), dms = models.get(1);
        assertThat(plain.get("cache").asString()).isEqualTo("none");
        assertThat(dms.get("cache").asString()).isEqualTo("dms");
        assertThat(plain.get("generated_tokens").asLong()).isEqualTo(60);
        for (JsonNode m : models) {
            JsonNode s = m.get("series");
            assertThat(s.get("t").size()).isPositive();
            for (String column : new String[] {
                "tokens_per_second", "kv_usage", "compression_ratio", "lifetime_compression_ratio", "running", "waiting"
            }) {
                assertThat(s.get(column).size()).as(column).isEqualTo(s.get("t").size());
            }
            assertThat(m.get("eviction_rates").size())
                    .isEqualTo(m.get("layers").asInt())
                    .isPositive();
            assertThat(m.get("eviction_rates").get(0).size())
                    .isEqualTo(m.get("kv_heads").asInt())
                    .isPositive();
        }
        // the plain cache keeps everything; the DMS adapter marks about half the tokens of every head
        for (JsonNode layer : plain.get("eviction_rates")) {
            for (JsonNode rate : layer) {
                assertThat(rate.asDouble()).isZero();
            }
        }
        double evicting = 0;
        for (JsonNode layer : dms.get("eviction_rates")) {
            for (JsonNode rate : layer) {
                assertThat(rate.asDouble()).isBetween(0.0, 1.0);
                evicting += rate.asDouble() > 0.05 ? 1 : 0;
            }
        }
        assertThat(evicting)
                .isGreaterThan(dms.get("layers").asInt() * dms.get("kv_heads").asInt() / 2.0);
        assertThat(dms.get("lifetime_compression_ratio").asDouble()).isGreaterThan(1.2);
        assertThat(plain.get("lifetime_compression_ratio").asDouble()).isEqualTo(1.0);
    }

    @Test
    void pageAndUplotAreServedFromTheServerItself() throws Exception {
        HttpResponse<String> page = get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
        assertThat(page.body())
                .contains("/dashboard/uPlot.iife.min.js", "/dashboard/dashboard.js")
                .doesNotContain("https://");
        HttpResponse<String> uplot = get("/dashboard/uPlot.iife.min.js");
        assertThat(uplot.statusCode()).isEqualTo(200);
        assertThat(uplot.body()).contains("uPlot");
        assertThat(get("/dashboard/uPlot.min.css").body()).contains(".uplot");
    }

    @Test
    void chromiumRendersEveryChartWithData() throws Exception {
        HeadlessChromium chromium = HeadlessChromium.find();
        String dom = chromium.dumpDom(base + "/", 5000);
        assertThat(dom).contains("data-rendered=\"true\"");
        for (String model : new String[] {"plain", "dms"}) {
            Matcher section = Pattern.compile("<section data-model=\"" + model + "\"[^>]*>")
                    .matcher(dom);
            assertThat(section.find()).as("section of " + model + " in " + dom).isTrue();
            String tag = section.group();
            assertThat(attribute(tag, "data-points")).isPositive();
            assertThat(attribute(tag, "data-cells"))
                    .isEqualTo(
                            server.models().getFirst().loaded().model().config().layers()
                                    * server.models()
                                            .getFirst()
                                            .loaded()
                                            .model()
                                            .config()
                                            .kvHeads());
            assertThat(attribute(tag, "data-generated")).isEqualTo(60);
        }
        // uPlot drew its canvases: three charts per model, plus the heat maps
        assertThat(Pattern.compile("class=\"uplot").matcher(dom).results().count())
                .isEqualTo(6);
        Path png = Path.of("target", "dashboard.png");
        chromium.screenshot(base + "/", 5000, png);
        assertThat(java.nio.file.Files.readAllBytes(png)).startsWith(0x89, 'P', 'N', 'G');
    }

    private static int attribute(String tag, String name) {
        Matcher m = Pattern.compile(name + "=\"(\\d+)\"").matcher(tag);
        assertThat(m.find()).as(name + " in " + tag).isTrue();
        return Integer.parseInt(m.group(1));
    }
}

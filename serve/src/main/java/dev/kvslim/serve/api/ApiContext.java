package dev.kvslim.serve.api;

import dev.kvslim.serve.auth.ApiKeys;
import dev.kvslim.serve.metrics.ServerMetrics;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * What the endpoints share: the served models (a request may leave out its model only when there is one), the accepted API keys
 * (and whether {@code /metrics} is open without one), the metrics, the largest request body, and whether the server still accepts work (false while shutting down).
 */
public record ApiContext(
        List<ServedModel> models,
        ApiKeys keys,
        boolean metricsPublic,
        ServerMetrics metrics,
        long maxBodyBytes,
        BooleanSupplier accepting) {

    public ApiContext {
        models = List.copyOf(models);
        if (models.isEmpty()) {
            throw new IllegalArgumentException("a server needs at least one model");
        }
    }

    /** The model named {@code name} (null: the only one; a 400 when there are several), or a 404. */
    ServedModel model(String name) {
        if (name == null) {
            if (models.size() > 1) {
                throw ApiException.invalid(
                        "model",
                        "The 'model' field is required: this server serves "
                                + String.join(
                                        ", ",
                                        models.stream().map(ServedModel::name).toList()) + ".");
            }
            return models.getFirst();
        }
        for (ServedModel m : models) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        throw ApiException.modelNotFound(name);
    }
}

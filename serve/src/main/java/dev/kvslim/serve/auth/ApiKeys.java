package dev.kvslim.serve.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The API keys a server accepts, each with a name that metering reports (the key itself never leaves this class).
 * With no keys configured every request is let in, as vLLM does without {@code --api-key}. Keys come from a config
 * file's {@code api_keys} or from the environment variable {@code KVSLIM_API_KEYS}: comma-separated {@code name=key}
 * pairs, or bare keys (named {@code key-1}, {@code key-2}, ...).
 */
public final class ApiKeys {

    /** Accepts every request. */
    public static final ApiKeys OPEN = new ApiKeys(Map.of());

    private final Map<String, String> namesByKey;

    /** Keys by name. */
    public ApiKeys(Map<String, String> keysByName) {
        Map<String, String> byKey = new LinkedHashMap<>();
        keysByName.forEach((name, key) -> {
            if (name.isBlank() || key.isBlank()) {
                throw new IllegalArgumentException(
                        "an API key and its name must not be blank (key named '" + name + "')");
            }
            if (byKey.put(key, name) != null) {
                throw new IllegalArgumentException("API key named '" + name + "' is given twice");
            }
        });
        this.namesByKey = Map.copyOf(byKey);
    }

    /** Keys from {@code KVSLIM_API_KEYS}-style text: {@code name=key} or bare keys, comma-separated. */
    public static ApiKeys parse(String spec) {
        Map<String, String> keys = new LinkedHashMap<>();
        int n = 0;
        for (String part : spec.split(",", -1)) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            n++;
            int eq = p.indexOf('=');
            String name = eq > 0 ? p.substring(0, eq).strip() : "key-" + n;
            String key = eq > 0 ? p.substring(eq + 1).strip() : p;
            if (keys.put(name, key) != null) {
                throw new IllegalArgumentException("API key name '" + name + "' appears twice in the key list");
            }
        }
        return new ApiKeys(keys);
    }

    public boolean required() {
        return !namesByKey.isEmpty();
    }

    public int size() {
        return namesByKey.size();
    }

    /**
     * The name of the key an {@code Authorization} header carries ({@code Bearer <key>}), or empty if it carries no
     * accepted key. With no keys configured, every request is {@code "anonymous"}.
     */
    public Optional<String> authenticate(String authorization) {
        if (!required()) {
            return Optional.of("anonymous");
        }
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.empty();
        }
        byte[] given = authorization.substring(7).strip().getBytes(StandardCharsets.UTF_8);
        for (Map.Entry<String, String> e : namesByKey.entrySet()) {
            // constant-time comparison: response times do not tell how much of a guess was right
            if (MessageDigest.isEqual(given, e.getKey().getBytes(StandardCharsets.UTF_8))) {
                return Optional.of(e.getValue());
            }
        }
        return Optional.empty();
    }
}

package dev.kvslim.serve.api;

/**
 * A request the API answers with an error: the HTTP status and the fields of OpenAI's error object
 * ({@code {"error": {"message", "type", "param", "code"}}}). {@code retryAfterSeconds} is sent as {@code Retry-After}
 * when positive.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final int retryAfterSeconds;

    public ApiException(int status, String type, String param, String code, String message, int retryAfterSeconds) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400: a field is missing, of the wrong type or out of range; {@code param} names it. */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message, 0);
    }

    public static ApiException unauthorized() {
        return new ApiException(
                401,
                "invalid_request_error",
                null,
                "invalid_api_key",
                "Incorrect API key provided: send a valid key as 'Authorization: Bearer <key>'.",
                0);
    }

    public static ApiException modelNotFound(String model) {
        return new ApiException(
                404,
                "invalid_request_error",
                "model",
                "model_not_found",
                "The model '" + model + "' does not exist.",
                0);
    }

    public static ApiException tooLarge(String param, String message) {
        return new ApiException(413, "invalid_request_error", param, "request_too_large", message, 0);
    }

    public static ApiException overloaded(String message) {
        return new ApiException(503, "server_error", null, "server_overloaded", message, 1);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}

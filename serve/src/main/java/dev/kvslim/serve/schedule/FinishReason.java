package dev.kvslim.serve.schedule;

import java.util.Locale;

/** Why a sequence ended, with the {@code finish_reason} strings of the OpenAI API (vLLM's {@code abort} for cancels). */
public enum FinishReason {
    /** End-of-generation token or a stop string. */
    STOP,
    /** The token limit, the model's context or the KV budget. */
    LENGTH,
    /** Cancelled: the client went away, or the server shut down before it finished. */
    ABORT,
    /** The engine failed while running it. */
    ERROR;

    /** The API's name for it. */
    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}

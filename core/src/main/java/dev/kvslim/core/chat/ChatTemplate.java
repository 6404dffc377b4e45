package dev.kvslim.core.chat;

import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import dev.kvslim.core.io.JsonFiles;
import dev.kvslim.core.io.ModelFormatException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import tools.jackson.databind.JsonNode;

/**
 * A Hugging Face chat template: the Jinja template in a model's {@code tokenizer_config.json} that turns a
 * conversation into the model's prompt text, rendered as transformers' {@code apply_chat_template(messages,
 * tokenize=False, add_generation_prompt=..., **kwargs)} renders it with Python Jinja2, through Jinjava (see
 * {@link TemplateEngine} and {@link Jinja2Source} for how the two are bridged).
 *
 * <p>The template sees what transformers gives it: {@code messages} (a list of dicts with {@code role},
 * {@code content} and, when set, {@code reasoning_content}), {@code add_generation_prompt}, {@code bos_token} and
 * {@code eos_token} (when the config names them), the caller's extra variables (Qwen3's {@code enable_thinking},
 * {@code tools}, ...), and the functions {@code raise_exception(message)} and {@code strftime_now(format)} (today's
 * date by this template's clock).
 *
 * <p><b>BOS:</b> tokenize the rendered text <em>without</em> adding special tokens
 * ({@code tokenizer.encode(text, false)}), as {@code apply_chat_template} does ({@code add_special_tokens=False}):
 * a template whose model wants BOS writes {@code bos_token} itself (Llama 3's does), so the text already starts with
 * it, and special-token strings in the text (BOS, {@code <|eot_id|>}, {@code <|im_start|>}) must come out as their
 * single ids. Adding BOS again would give the model two.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class ChatTemplate {

    private final String source;
    private final Jinja2Source.Prepared template;
    private final String bosToken;
    private final String eosToken;
    private final Clock clock;

    private ChatTemplate(String source, Jinja2Source.Prepared template, String bosToken, String eosToken, Clock clock) {
        this.source = source;
        this.template = template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.clock = clock;
    }

    /**
     * The chat template of a {@code tokenizer_config.json}: its {@code chat_template}, either a string or, as some
     * models ship several, a list of {@code {"name": ..., "template": ...}} of which the one named {@code "default"}
     * is taken (as transformers does when no name is asked for); {@code bos_token} and {@code eos_token} may be
     * strings, null, or {@code {"content": ...}} objects. A file that cannot be read, is not JSON or has no usable
     * template gives a {@link ModelFormatException} naming it; a template that does not parse, a
     * {@link ChatTemplateException}.
     */
    public static ChatTemplate load(Path tokenizerConfig) {
        JsonNode config = JsonFiles.read(tokenizerConfig);
        if (!config.isObject()) {
            throw new ModelFormatException(tokenizerConfig, "not a JSON object");
        }
        String template = templateText(tokenizerConfig, config.get("chat_template"));
        return of(
                tokenizerConfig.toString(),
                template,
                token(tokenizerConfig, config, "bos_token"),
                token(tokenizerConfig, config, "eos_token"));
    }

    /**
     * A chat template from its text; {@code source} names where it came from in errors, and {@code bosToken} and
     * {@code eosToken} may be null (the template then sees them undefined).
     */
    @SuppressWarnings("JavaTimeDefaultTimeZone") // strftime_now is local time, as transformers' datetime.now() gives it
    public static ChatTemplate of(String source, String template, String bosToken, String eosToken) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(template, "template");
        return new ChatTemplate(
                source, Jinja2Source.prepare(source, template), bosToken, eosToken, Clock.systemDefaultZone());
    }

    /** This template with {@code strftime_now} reading the date and time from {@code clock}. */
    public ChatTemplate withClock(Clock clock) {
        return new ChatTemplate(source, template, bosToken, eosToken, Objects.requireNonNull(clock, "clock"));
    }

    /**
     * Whether the template writes thinking blocks ({@code </think>}, as Qwen3's and DeepSeek-R1's do): a model that
     * answers after thinking, whose output the server splits into {@code reasoning_content} and {@code content}.
     */
    public boolean thinks() {
        return template.text().contains("</think>");
    }

    /** The BOS token's text, or null if the config names none. */
    public String bosToken() {
        return bosToken;
    }

    /** The EOS token's text, or null if the config names none. */
    public String eosToken() {
        return eosToken;
    }

    /**
     * The prompt text for {@code messages}; with {@code addGenerationPrompt}, ending with the opening of the
     * assistant's turn (templates that always open it, such as Llama 3's first one, ignore the flag).
     * {@code extraVariables} are further template variables, e.g. {@code enable_thinking=false} for Qwen3; they may
     * override {@code bos_token} and {@code eos_token} but not {@code messages} or {@code add_generation_prompt}.
     *
     * @throws ChatTemplateException if rendering fails, naming this template's source and the problem (for the
     *     template's own {@code raise_exception}, its message)
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> extraVariables) {
        for (String reserved : List.of("messages", "add_generation_prompt")) {
            if (extraVariables.containsKey(reserved)) {
                throw new IllegalArgumentException(reserved + " cannot be an extra variable");
            }
        }
        Map<String, Object> variables = new HashMap<>();
        if (bosToken != null) {
            variables.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            variables.put("eos_token", eosToken);
        }
        variables.putAll(extraVariables);
        List<Map<String, Object>> messageMaps = new ArrayList<>();
        for (ChatMessage message : messages) {
            messageMaps.add(message.toTemplateMap());
        }
        variables.put("messages", messageMaps);
        variables.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = ScopedValue.where(TemplateFunctions.NOW, ZonedDateTime.now(clock))
                .call(() -> TemplateEngine.INSTANCE.renderForResult(template.text(), variables));
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw failure(error);
            }
        }
        return result.getOutput();
    }

    private ChatTemplateException failure(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof TemplateFunctions.RaisedException raised) {
                return new ChatTemplateException(source, "raise_exception: " + raised.getMessage());
            }
        }
        String line = error.getLineno() > 0 ? "line " + template.originalLine(error.getLineno()) + ": " : "";
        String problem =
                error.getMessage().replace("\nOriginating Exception:\n", ": ").replace('\n', ' ');
        return new ChatTemplateException(source, line + problem, error.getException());
    }

    private static String templateText(Path file, JsonNode chatTemplate) {
        if (chatTemplate == null || chatTemplate.isNull()) {
            throw new ModelFormatException(file, "has no chat_template (the model has no chat format to render)");
        }
        if (chatTemplate.isString()) {
            return chatTemplate.stringValue();
        }
        if (chatTemplate.isArray()) {
            for (JsonNode named : chatTemplate) {
                if ("default".equals(named.path("name").asString(null))
                        && named.path("template").isString()) {
                    return named.get("template").stringValue();
                }
            }
            throw new ModelFormatException(file, "chat_template lists several templates but none named \"default\"");
        }
        throw new ModelFormatException(file, "chat_template is neither a string nor a list of named templates");
    }

    private static String token(Path file, JsonNode config, String name) {
        JsonNode token = config.get(name);
        if (token == null || token.isNull()) {
            return null;
        }
        if (token.isString()) {
            return token.stringValue();
        }
        if (token.isObject() && token.path("content").isString()) {
            return token.get("content").stringValue();
        }
        throw new ModelFormatException(file, name + " is neither a string nor an object with a string \"content\"");
    }
}

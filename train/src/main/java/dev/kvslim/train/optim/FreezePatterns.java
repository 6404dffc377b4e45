package dev.kvslim.train.optim;

import dev.kvslim.train.model.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Which parameters train, by their Hugging Face names. A pattern is a glob ({@code *} any characters, dots
 * included; {@code ?} one character) or, prefixed {@code regex:}, a Java regular expression; either must match the
 * whole name. A parameter is frozen when it matches a {@code freeze} pattern, or when {@code trainOnly} patterns
 * are given and it matches none of them. DMS adapter-only training is {@code trainOnly = ["*dms_proj_alpha*"]}.
 */
public record FreezePatterns(List<String> freeze, List<String> trainOnly) {

    public static final FreezePatterns NONE = new FreezePatterns(List.of(), List.of());

    public FreezePatterns {
        freeze = List.copyOf(freeze);
        trainOnly = List.copyOf(trainOnly);
        for (String p : freeze) {
            compile(p);
        }
        for (String p : trainOnly) {
            compile(p);
        }
    }

    /** Sets every parameter's frozen flag; returns the names of the ones left trainable. */
    public List<String> apply(List<Parameter> params) {
        List<Pattern> f = freeze.stream().map(FreezePatterns::compile).toList();
        List<Pattern> t = trainOnly.stream().map(FreezePatterns::compile).toList();
        List<String> trainable = new ArrayList<>();
        for (Parameter p : params) {
            boolean frozen = f.stream().anyMatch(x -> x.matcher(p.name()).matches())
                    || !t.isEmpty()
                            && t.stream().noneMatch(x -> x.matcher(p.name()).matches());
            p.setFrozen(frozen);
            if (!frozen) {
                trainable.add(p.name());
            }
        }
        if (trainable.isEmpty()) {
            throw new IllegalArgumentException(
                    "the freeze patterns " + freeze + " / train-only " + trainOnly + " leave no parameter to train");
        }
        return trainable;
    }

    static Pattern compile(String pattern) {
        try {
            if (pattern.startsWith("regex:")) {
                return Pattern.compile(pattern.substring("regex:".length()));
            }
            StringBuilder re = new StringBuilder();
            for (int i = 0; i < pattern.length(); i++) {
                char ch = pattern.charAt(i);
                switch (ch) {
                    case '*' -> re.append(".*");
                    case '?' -> re.append('.');
                    default -> re.append(Pattern.quote(String.valueOf(ch)));
                }
            }
            return Pattern.compile(re.toString());
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new IllegalArgumentException("bad parameter pattern '" + pattern + "': " + e.getDescription(), e);
        }
    }
}

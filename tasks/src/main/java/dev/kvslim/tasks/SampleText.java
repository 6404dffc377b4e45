package dev.kvslim.tasks;

/** Samples rendered as plain text for documentation and for looking at what a model is trained on. */
public final class SampleText {

    private SampleText() {}

    /**
     * The first {@code count} samples of {@code split} (seeds {@code split.seed(0)}, {@code split.seed(1)}, ...) at
     * {@code contextTokens}, each as a header line, the prompt, and the target after a {@code ---- target} line.
     */
    public static String render(Task task, Split split, int count, int contextTokens) {
        StringBuilder out = new StringBuilder();
        for (int n = 0; n < count; n++) {
            Sample s = task.generate(split.seed(n), contextTokens);
            out.append("==== ")
                    .append(task.name())
                    .append(" seed ")
                    .append(s.seed())
                    .append(", ")
                    .append(contextTokens)
                    .append(" tokens, answer ")
                    .append(s.answer())
                    .append('\n')
                    .append(s.prompt())
                    .append("---- target\n")
                    .append(s.target());
        }
        return out.toString();
    }
}

package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Task;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The four long-context tasks the demo model is trained and evaluated on, by name; {@link #named} also knows the
 * warm-up tasks {@code copy} ({@link CopyTask}) and {@code tally} ({@link TallyTask}), which training may mix in but
 * {@link #all} leaves out.
 */
public final class TaskSuite {

    private static final List<Task> ALL =
            List.of(new NeedleTask(), new VarTrackTask(), new ArithmeticTask(), new RunSumTask());
    private static final List<Task> WARM_UP = List.of(new CopyTask(), new TallyTask());

    private TaskSuite() {}

    /** needle, vartrack, arithmetic, runsum. */
    public static List<Task> all() {
        return ALL;
    }

    /**
     * The task called {@code name}.
     *
     * @throws IllegalArgumentException listing the known names if there is none
     */
    public static Task named(String name) {
        return java.util.stream.Stream.concat(ALL.stream(), WARM_UP.stream())
                .filter(t -> t.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no task named '" + name + "' (known: "
                        + java.util.stream.Stream.concat(ALL.stream(), WARM_UP.stream())
                                .map(Task::name)
                                .collect(Collectors.joining(", "))
                        + ")"));
    }
}

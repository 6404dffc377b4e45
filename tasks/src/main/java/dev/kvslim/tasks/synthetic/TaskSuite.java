package dev.kvslim.tasks.synthetic;

import dev.kvslim.tasks.Task;
import java.util.List;
import java.util.stream.Collectors;

/** The four long-context tasks the demo model is trained and evaluated on, by name. */
public final class TaskSuite {

    private static final List<Task> ALL = List.of(new NeedleTask(), new VarTrackTask(), new ArithmeticTask(),
            new RunSumTask());

    private TaskSuite() {
    }

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
        return ALL.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("no task named '" + name + "' (known: "
                        + ALL.stream().map(Task::name).collect(Collectors.joining(", ")) + ")"));
    }
}

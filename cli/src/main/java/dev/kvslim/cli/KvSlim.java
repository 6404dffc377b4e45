package dev.kvslim.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code kvslim} command: one front end over the engine, a subcommand per job. */
@Command(
        name = "kvslim",
        mixinStandardHelpOptions = true,
        versionProvider = KvSlim.Version.class,
        description = "LLM inference with KV-cache compression, in Java.",
        subcommands = {
            GenerateCommand.class,
            ChatCommand.class,
            TokenizeCommand.class,
            InspectCommand.class,
            QuantizeCommand.class,
            ConvertCommand.class,
            BenchCommand.class,
            PretrainCommand.class,
            RetrofitCommand.class,
            EvalCommand.class,
            ServeCommand.class,
            SavingsCommand.class,
            CommandLine.HelpCommand.class
        })
public final class KvSlim implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code: 0 done, 1 failed, 2 bad usage. */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new KvSlim());
        // bad usage: one line with the prefix every error has, and where to look, not the whole usage text
        cli.setParameterExceptionHandler((e, ignored) -> {
            CommandLine c = e.getCommandLine();
            String command = c.getParent() == null ? "kvslim" : "kvslim " + c.getCommandName();
            c.getErr().println("kvslim: error: " + e.getMessage());
            c.getErr().println("(" + command + " --help shows the options)");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("kvslim: error: " + message(e));
            if (Boolean.getBoolean("kvslim.debug")) {
                e.printStackTrace(commandLine.getErr());
            }
            return 1;
        });
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            // weights (all but F32) and KV blocks live on the Java heap: say so in one line, not a stack trace
            cli.getErr()
                    .printf(
                            java.util.Locale.ROOT,
                            "kvslim: error: out of memory (%s) with a Java heap of at most %.1f GiB: give it more with"
                                    + " KVSLIM_JAVA_OPTS=-Xmx<size>, or a smaller model, context or KV budget%n",
                            message(e),
                            Runtime.getRuntime().maxMemory() / (double) (1L << 30));
            return 1;
        }
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = KvSlim.class.getPackage().getImplementationVersion();
            return new String[] {"kvslim " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}

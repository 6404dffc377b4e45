package dev.kvslim.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The KV flags' old spellings, hidden: each is an error naming the flag that replaced it, so that a script written
 * for an older KVSlim fails with a clear line instead of running with defaults.
 */
final class RenamedKvFlags {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--budget", hidden = true)
    void budget(String value) {
        renamed("--budget", "--kv-budget (bytes; KiB, MiB and GiB suffixes work)");
    }

    @Option(names = "--policy", hidden = true)
    void policy(String value) {
        renamed("--policy", "--kv-policy");
    }

    @Option(names = "--ratio", hidden = true)
    void ratio(String value) {
        renamed("--ratio", "--kv-ratio");
    }

    private void renamed(String old, String now) {
        throw new ParameterException(spec.commandLine(), old + " is now " + now);
    }
}

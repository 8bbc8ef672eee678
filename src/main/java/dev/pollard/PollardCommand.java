package dev.pollard;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The single entry point: {@code ./pollard <command>}. Without a command it lists the commands. */
@TopCommand
@Command(name = "pollard", mixinStandardHelpOptions = true, versionProvider = PollardCommand.Version.class,
        description = "Energy-aware structured pruning of neural networks, as a Kubernetes operator.",
        subcommands = {dev.pollard.operator.OperatorCommand.class, dev.pollard.serve.ServeCommand.class,
                dev.pollard.energy.ProfileCommand.class, dev.pollard.graph.InspectCommand.class,
                dev.pollard.graph.PruneUniformCommand.class, dev.pollard.graph.LatencyCommand.class,
                dev.pollard.worker.TrainCommand.class, dev.pollard.worker.PruneCommand.class})
public class PollardCommand implements Runnable {

    static {
        // DJL's PyTorch natives ship in the jar (Maven Central); it must never try to download anything
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        // PyTorch would start a thread per core of the node; a worker gets what its container may use (the JVM reads the
        // CPU limit from its cgroup)
        if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(Runtime.getRuntime().availableProcessors()));
        }
    }

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static class Version implements picocli.CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = PollardCommand.class.getPackage().getImplementationVersion();
            return new String[] {"pollard " + (v == null ? "development build" : v)};
        }
    }
}

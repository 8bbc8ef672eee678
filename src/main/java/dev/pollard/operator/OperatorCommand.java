package dev.pollard.operator;

import io.javaoperatorsdk.operator.Operator;
import io.quarkus.runtime.Quarkus;
import jakarta.inject.Inject;
import picocli.CommandLine.Command;

/** Runs the operator until the process is stopped. Health and metrics are served under /q/ on port 8080. */
@Command(name = "operator", description = "Run the Kubernetes operator (reconciles PruningJobs against the current kubeconfig "
        + "or in-cluster service account).")
public class OperatorCommand implements Runnable {

    @Inject
    Operator operator;

    @Override
    public void run() {
        operator.start();
        Quarkus.waitForExit();
    }
}

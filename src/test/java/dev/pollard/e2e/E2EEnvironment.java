package dev.pollard.e2e;

import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import java.util.Map;

/**
 * What an end-to-end suite runs against: a local control plane with Pollard's CRDs, one process node, and the
 * operator's reconcilers running in the test JVM (none when the suite runs the operator as a process of its own).
 */
record E2EEnvironment(LocalCluster cluster, KubernetesClient client, ProcessNode node, Operator operator)
        implements AutoCloseable {

    static E2EEnvironment start(String nodeName, Map<String, String> labels, Map<String, String> extendedResources,
            Reconciler<?>... reconcilers) throws Exception {
        LocalCluster cluster = LocalCluster.start();
        KubernetesClient client = cluster.client();
        Resources.installCrds(client);
        ProcessNode node = new ProcessNode(client, nodeName, cluster.dir().resolve("node"), LocalCluster.pollardCommand())
                .start(labels, extendedResources);
        Operator operator = null;
        if (reconcilers.length > 0) {
            operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
            for (Reconciler<?> r : reconcilers) {
                operator.register(r);
            }
            operator.start();
        }
        return new E2EEnvironment(cluster, client, node, operator);
    }

    @Override
    public void close() throws Exception {
        if (operator != null) {
            operator.stop();
        }
        node.close();
        client.close();
        cluster.close();
    }
}

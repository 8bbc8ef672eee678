package dev.pollard.e2e;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;

/** Registering a node that a test fixture runs (ProcessNode, StandInNode) as a kubelet registers its own. */
final class FakeNodes {
    private FakeNodes() {
    }

    /**
     * Creates the node, reports it Ready with this capacity, and lifts the not-ready taint the API server puts on a new
     * node (the node lifecycle controller, which would, is off in the local cluster: it wants heartbeats). Both writes
     * are patches without a resourceVersion: a controller that annotates the new node meanwhile (the TTL controller
     * does) is no conflict, where a read-modify-write failed now and then with 409.
     */
    static void register(KubernetesClient client, String name, Map<String, String> labels, Map<String, Quantity> capacity,
            String kind) {
        Map<String, String> allLabels = new HashMap<>(labels);
        allLabels.put("kubernetes.io/hostname", name);
        allLabels.put("kubernetes.io/os", "linux");
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name).withLabels(allLabels).endMetadata().build())
                .create();
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        Node status = new NodeBuilder().withNewMetadata().withName(name).endMetadata().withNewStatus()
                .withCapacity(capacity).withAllocatable(capacity)
                .addNewAddress().withType("InternalIP").withAddress("127.0.0.1").endAddress()
                .addNewAddress().withType("Hostname").withAddress(name).endAddress()
                .withConditions(new NodeConditionBuilder().withType("Ready").withStatus("True").withReason("KubeletReady")
                        .withMessage(kind + " node is ready").withLastHeartbeatTime(now).withLastTransitionTime(now).build())
                .withNewNodeInfo().withArchitecture("amd64").withOperatingSystem("linux")
                .withKubeletVersion("v0.0.0-" + kind + "-node").withContainerRuntimeVersion(kind + "://1").withBootID("")
                .withKernelVersion("").withKubeProxyVersion("").withMachineID("").withOsImage(kind + " node")
                .withSystemUUID("").endNodeInfo()
                .endStatus().build();
        client.nodes().resource(status).patchStatus();
        client.nodes().withName(name).patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"taints\":null}}");
    }
}

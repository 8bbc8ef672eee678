package dev.pollard.operator;

import dev.pollard.api.InferenceDeployment;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The ClusterIP Service in front of the serving pods, written by threads of its own rather than JOSDK's.
 *
 * <p>Why: the API server creates Services one at a time (Kubernetes 1.33's ClusterIP allocator holds one lock while it
 * writes each new IPAddress), so under a burst of new deployments one Service create waits seconds. A reconciliation
 * waiting on it would hold one of the reconciliation threads that every controller shares, and PruningJobs would queue
 * behind it (docs/results.md, "Operator at scale"). Here a missing or changed Service is handed to a few writers, at
 * most one write per deployment at a time, and the reconciliation goes on; the Services informer wakes the deployment
 * once its Service exists, and a failed write wakes it to report the failure (and so to be retried).
 */
final class ServingService {
    /** More would not be faster: the API server takes them one at a time. */
    private static final int WRITERS = 4;

    private final InformerEventSource<Service, InferenceDeployment> services;
    private final SimpleInboundEventSource<InferenceDeployment> failedWrites = new SimpleInboundEventSource<>("failed-service-writes");
    private final KubernetesClient client;
    private final ThreadPoolExecutor writers = new ThreadPoolExecutor(WRITERS, WRITERS, 30, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), runnable -> {
                Thread thread = new Thread(runnable, "serving-service-writer");
                thread.setDaemon(true);
                return thread;
            });
    private final Set<ResourceID> writing = ConcurrentHashMap.newKeySet();
    private final Map<ResourceID, RuntimeException> failures = new ConcurrentHashMap<>();

    ServingService(EventSourceContext<InferenceDeployment> context) {
        writers.allowCoreThreadTimeOut(true);
        client = context.getClient();
        services = new InformerEventSource<>(InformerEventSourceConfiguration.from(Service.class, InferenceDeployment.class)
                .withName("serving-services")
                .withLabelSelector(ServingDeployment.INFORMER_SELECTOR)
                .withItemStore(new TrimmedCache<>())
                .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(InferenceDeployment.class))
                .build(), context);
    }

    List<EventSource<?, InferenceDeployment>> eventSources() {
        return List.of(services, failedWrites);
    }

    /**
     * Hands the deployment's Service to a writer unless it is as desired or already being written.
     *
     * @throws RuntimeException the failure of the last write, once: the reconciliation fails with it, says why in
     *         status and is retried, which writes again
     */
    void reconcile(InferenceDeployment infd, Context<InferenceDeployment> context) {
        ResourceID id = ResourceID.fromResource(infd);
        RuntimeException failed = failures.remove(id);
        if (failed != null) {
            throw failed;
        }
        Service desired = desired(infd);
        Service actual = context.getSecondaryResource(Service.class).orElse(null);
        if (actual != null && matches(actual, desired) || !writing.add(id)) {
            return;
        }
        writers.execute(() -> {
            try {
                Service written = client.resource(desired).fieldManager(Labels.OPERATOR).forceConflicts().serverSideApply();
                // the cache knows it at once: a reconciliation before the informer's event does not write it again
                if (actual == null) {
                    services.handleRecentResourceCreate(ResourceID.fromResource(written), written);
                } else {
                    services.handleRecentResourceUpdate(ResourceID.fromResource(written), written, actual);
                }
            } catch (RuntimeException e) {
                failures.put(id, e);
                failedWrites.propagateEvent(id);
            } finally {
                writing.remove(id);
            }
        });
    }

    static Service desired(InferenceDeployment infd) {
        return new ServiceBuilder()
                .withNewMetadata().withName(infd.getMetadata().getName()).withNamespace(infd.getMetadata().getNamespace())
                .withLabels(Labels.all(infd, ServingDeployment.COMPONENT))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(infd.getApiVersion()).withKind(infd.getKind())
                        .withName(infd.getMetadata().getName()).withUid(infd.getMetadata().getUid()).withController(true).build())
                .endMetadata()
                .withNewSpec().withType("ClusterIP").withSelector(Labels.selector(infd, ServingDeployment.COMPONENT))
                .addNewPort().withName("http").withPort(port(infd)).withTargetPort(new IntOrString("http")).endPort()
                .endSpec().build();
    }

    /** Compares only what {@link #desired} sets: the API server fills in the rest (cluster IP, protocol, ...). */
    static boolean matches(Service actual, Service desired) {
        return actual.getSpec() != null && desired.getSpec().getType().equals(actual.getSpec().getType())
                && desired.getSpec().getSelector().equals(actual.getSpec().getSelector())
                && ports(desired).equals(ports(actual))
                && actual.getMetadata().getLabels() != null
                && actual.getMetadata().getLabels().entrySet().containsAll(desired.getMetadata().getLabels().entrySet())
                && actual.getMetadata().getOwnerReferences().stream()
                        .anyMatch(o -> desired.getMetadata().getOwnerReferences().get(0).getUid().equals(o.getUid()));
    }

    private static List<String> ports(Service service) {
        return service.getSpec().getPorts().stream().map(ServingService::port).toList();
    }

    private static String port(ServicePort port) {
        IntOrString target = port.getTargetPort();
        return port.getName() + ":" + port.getPort() + "->" + (target == null ? null
                : target.getStrVal() != null ? target.getStrVal() : target.getIntVal());
    }

    static int port(InferenceDeployment infd) {
        var runtime = infd.getSpec().runtime;
        return runtime != null && runtime.port != null ? runtime.port : ServingDeployment.DEFAULT_PORT;
    }
}

package dev.pollard.e2e;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.api.RunSummary;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test fixture that plays kubelet for scale benchmarks: like {@link ProcessNode} it registers a GPU-labelled Node and
 * writes the status of the pods bound to it, but it runs nothing. A pruning worker's pod (component {@code pruning})
 * ends at once with exit 0 and a run summary the operator accepts as its termination message; a model server's pod
 * (component {@code serving}) is Running and Ready at once. The API server, the scheduler, the Job and Deployment
 * controllers and the operator stay real; only the work inside the pods is left out, so what is measured is the
 * control plane's and the operator's own cost.
 *
 * <p>A worker's summary is what the worker would write on success: the artifact is {@code model.onnx} in the run's own
 * output directory (the pod's {@code --artifact-uri}), with a well-formed sha256, the source model as the pod was given
 * it ({@code --model-uri}, {@code --model-sha256}), and finite metrics. A pod of any other component fails at once
 * with a message saying so. A pod being deleted is removed at once, as a kubelet does once its containers have
 * stopped.
 */
public final class StandInNode implements AutoCloseable {
    static final String COMPONENT_LABEL = "app.kubernetes.io/component";
    static final String PRUNING = "pruning";
    static final String SERVING = "serving";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KubernetesClient client;
    private final String name;
    /** Status writes go out on a few threads, never on the informer's: a slow write must not hold back events. */
    private final ExecutorService writers;
    private final Set<String> started = ConcurrentHashMap.newKeySet();
    private final Set<String> removing = ConcurrentHashMap.newKeySet();
    private final AtomicInteger nextIp = new AtomicInteger(1);
    private final AtomicInteger completed = new AtomicInteger();
    private final AtomicInteger serving = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicInteger removed = new AtomicInteger();
    private final AtomicInteger writeErrors = new AtomicInteger();
    private SharedIndexInformer<Pod> informer;

    public StandInNode(KubernetesClient client, String name, int writerThreads) {
        this.client = client;
        this.name = name;
        this.writers = Executors.newFixedThreadPool(writerThreads, r -> {
            Thread t = new Thread(r, "stand-in-node-writer");
            t.setDaemon(true);
            return t;
        });
    }

    public String name() {
        return name;
    }

    /**
     * Registers the node with the given labels, room for {@code pods} pods and the given extended resources (e.g.
     * nvidia.com/gpu), CPU and memory enough for all of them, and starts taking the pods bound to it.
     */
    public StandInNode start(Map<String, String> labels, int pods, Map<String, String> extendedResources) {
        Map<String, Quantity> capacity = new LinkedHashMap<>();
        // workers ask for 2 CPUs and 4 GiB by default: room for every pod the node may hold
        capacity.put("cpu", new Quantity(Integer.toString(8 * pods)));
        capacity.put("memory", new Quantity(16 * pods + "Gi"));
        capacity.put("pods", new Quantity(Integer.toString(pods)));
        extendedResources.forEach((k, v) -> capacity.put(k, new Quantity(v)));
        FakeNodes.register(client, name, labels, capacity, "stand-in");
        informer = client.pods().inAnyNamespace().withField("spec.nodeName", name).inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod pod) {
                onPod(pod);
            }

            @Override
            public void onUpdate(Pod before, Pod pod) {
                onPod(pod);
            }

            @Override
            public void onDelete(Pod pod, boolean finalStateUnknown) {
                started.remove(pod.getMetadata().getUid());
                removing.remove(pod.getMetadata().getUid());
            }
        });
        return this;
    }

    /** Counts so far: worker pods completed, serving pods running, pods refused, pods removed, failed status writes. */
    public String counts() {
        return String.format("%d worker pods completed, %d serving pods running, %d pods of another kind failed, "
                + "%d pods removed, %d status writes failed", completed.get(), serving.get(), refused.get(), removed.get(),
                writeErrors.get());
    }

    private void onPod(Pod pod) {
        String uid = pod.getMetadata().getUid();
        if (pod.getMetadata().getDeletionTimestamp() != null) {
            if (removing.add(uid)) {
                writers.execute(() -> remove(pod));
            }
            return;
        }
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        if ((phase == null || "Pending".equals(phase)) && started.add(uid)) {
            writers.execute(() -> run(pod));
        }
    }

    /** What a kubelet does once a deleted pod's containers have stopped: the pod goes for good. */
    private void remove(Pod pod) {
        try {
            client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
                    .withGracePeriod(0).delete();
            removed.incrementAndGet();
        } catch (KubernetesClientException e) {
            // already gone
        }
    }

    private void run(Pod pod) {
        Container container = pod.getSpec().getContainers().get(0);
        String component = pod.getMetadata().getLabels() == null ? null : pod.getMetadata().getLabels().get(COMPONENT_LABEL);
        String ip = ip(nextIp.getAndIncrement());
        if (PRUNING.equals(component)) {
            Optional<String> summary = summary(pod, container);
            if (summary.isPresent()) {
                write(pod, "Succeeded", ip, terminated(container, pod, 0, "Completed", summary.get()), false);
                completed.incrementAndGet();
            } else {
                write(pod, "Failed", ip, terminated(container, pod, 2, "Error",
                        "stand-in node: the worker's arguments have no --artifact-uri"), false);
                refused.incrementAndGet();
            }
        } else if (SERVING.equals(component)) {
            ContainerStatus status = base(container, pod).withReady(true).withStarted(true)
                    .withState(new ContainerStateBuilder().withNewRunning().withStartedAt(now()).endRunning().build()).build();
            write(pod, "Running", ip, status, true);
            serving.incrementAndGet();
        } else {
            write(pod, "Failed", ip, terminated(container, pod, 128, "ContainerCannotRun",
                    "stand-in node runs only pods of component pruning or serving, not " + component), false);
            refused.incrementAndGet();
        }
    }

    /**
     * What a successful worker writes as its termination message, from the arguments its pod was given; empty when they
     * do not say where the run's output goes.
     */
    static Optional<String> summary(Pod pod, Container container) {
        List<String> args = container.getArgs() == null ? List.of() : container.getArgs();
        Optional<String> artifactUri = argument(args, "--artifact-uri");
        if (artifactUri.isEmpty()) {
            return Optional.empty();
        }
        RunSummary s = new RunSummary();
        s.baseline = metrics(0.912, 0.0104, 1.20, 1_200_000L, 4_800_000L, 310_000_000L);
        s.result = metrics(0.906, 0.0061, 0.82, 700_000L, 2_800_000L, 180_000_000L);
        s.ratios = new PruningJobStatus.Ratios();
        s.ratios.accuracyRetention = 0.906 / 0.912;
        s.ratios.energyReduction = 1 - 0.0061 / 0.0104;
        s.ratios.latencySpeedup = 1.20 / 0.82;
        s.ratios.sizeReduction = 1 - 2_800_000.0 / 4_800_000.0;
        s.ratios.carbonReduction = s.ratios.energyReduction;
        s.accuracyDrop = 0.912 - 0.906;
        PruningJobStatus.Iteration iteration = new PruningJobStatus.Iteration();
        iteration.index = 1;
        iteration.channelsRemoved = 64;
        iteration.accuracy = 0.906;
        iteration.joulesPerInference = 0.0061;
        iteration.rolledBack = false;
        iteration.fineTuningRounds = 1;
        s.iterations = List.of(iteration);
        s.hardware = new PruningJobStatus.HardwareUsed();
        s.hardware.meter = "analytical";
        s.hardware.node = pod.getSpec().getNodeName();
        s.artifact = new PruningJobStatus.Artifact();
        s.artifact.uri = artifactUri.get().replaceAll("/+$", "") + "/model.onnx";
        s.artifact.sha256 = sha256(pod.getMetadata().getUid());
        s.source = new PruningJobStatus.Artifact();
        s.source.uri = argument(args, "--model-uri").orElse(argument(args, "--model").orElse("embedded:fashion-cnn"));
        s.source.sha256 = argument(args, "--model-sha256").orElseGet(() -> sha256(s.source.uri));
        try {
            return Optional.of(JSON.writeValueAsString(s));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static PruningJobStatus.ModelMetrics metrics(double accuracy, double joules, double latencyMs, long parameters,
            long bytes, long flops) {
        PruningJobStatus.ModelMetrics m = new PruningJobStatus.ModelMetrics();
        m.accuracy = accuracy;
        m.joulesPerInference = joules;
        m.meter = "analytical";
        m.latencyMs = latencyMs;
        m.parameters = parameters;
        m.bytes = bytes;
        m.flops = flops;
        return m;
    }

    private static Optional<String> argument(List<String> args, String flag) {
        int i = args.indexOf(flag);
        return i >= 0 && i + 1 < args.size() ? Optional.of(args.get(i + 1)) : Optional.empty();
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Pod addresses from 10.128.0.0/9, one per pod. */
    private static String ip(int n) {
        return "10." + (128 + (n >> 16 & 0x7f)) + "." + (n >> 8 & 0xff) + "." + (n & 0xff);
    }

    private static ContainerStatus terminated(Container container, Pod pod, int exitCode, String reason, String message) {
        return base(container, pod).withReady(false).withStarted(false)
                .withState(new ContainerStateBuilder().withNewTerminated().withExitCode(exitCode).withReason(reason)
                        .withMessage(message).withStartedAt(now()).withFinishedAt(now()).endTerminated().build())
                .build();
    }

    private static ContainerStatusBuilder base(Container container, Pod pod) {
        return new ContainerStatusBuilder().withName(container.getName()).withImage(container.getImage())
                .withImageID("stand-in://" + container.getImage())
                .withContainerID("stand-in://" + pod.getMetadata().getUid()).withRestartCount(0);
    }

    /** One status write per pod: a JSON merge patch of the status subresource, without a read before it. */
    private void write(Pod pod, String phase, String ip, ContainerStatus container, boolean ready) {
        String time = now();
        List<PodCondition> conditions = List.of(condition("PodScheduled", true, time), condition("Initialized", true, time),
                condition("ContainersReady", ready, time), condition("Ready", ready, time));
        PodStatus status = new PodStatusBuilder().withPhase(phase).withHostIP("127.0.0.1").withPodIP(ip)
                .withPodIPs(new PodIP(ip)).withStartTime(time).withConditions(conditions).withContainerStatuses(container)
                .build();
        Pod patch = new PodBuilder().withNewMetadata().withName(pod.getMetadata().getName())
                .withNamespace(pod.getMetadata().getNamespace()).endMetadata().withStatus(status).build();
        try {
            client.pods().resource(patch).patchStatus();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) { // a pod deleted meanwhile has nothing left to report on
                writeErrors.incrementAndGet();
                System.err.printf("stand-in node: status of pod %s/%s not written: %s%n", pod.getMetadata().getNamespace(),
                        pod.getMetadata().getName(), e.getMessage());
            }
        }
    }

    private static PodCondition condition(String type, boolean status, String time) {
        return new PodConditionBuilder().withType(type).withStatus(status ? "True" : "False").withLastTransitionTime(time)
                .build();
    }

    private static String now() {
        return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
        writers.shutdown();
        try {
            writers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            client.nodes().withName(name).delete();
        } catch (KubernetesClientException ignored) {
            // the cluster may already be gone
        }
    }
}

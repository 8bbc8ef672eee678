package dev.pollard.e2e;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A test fixture that plays kubelet: it registers a Node labelled like a GPU node and runs the containers of pods
 * bound to it as local processes of our own jar (every image is taken to be Pollard's), writing pod status back.
 *
 * <p>What a kubelet would mount is emulated by rewriting paths: a PVC claim is the directory {@code pvc/CLAIM} under
 * the node's root, an emptyDir a directory per pod, and a container's mount path in its arguments and environment is
 * replaced by that directory. Each pod gets its own loopback address (127.0.0.N) as its pod IP, so servers in
 * different pods can use the same port. The termination message file is handed to the process in
 * {@code POLLARD_TERMINATION_MESSAGE_PATH}.
 */
public final class ProcessNode implements AutoCloseable {
    private static final Pattern VAR = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");

    private final KubernetesClient client;
    private final String name;
    private final Path root;
    private final List<String> javaCommand;
    private final ScheduledExecutorService executor = Executors.newScheduledThreadPool(4);
    private final Map<String, RunningPod> pods = new ConcurrentHashMap<>();
    private final AtomicInteger nextIp = new AtomicInteger(2);
    private final List<ThreadHold> holds = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private SharedIndexInformer<Pod> informer;

    /** @param javaCommand how to start our application, e.g. [java, -jar, target/quarkus-app/quarkus-run.jar] */
    public ProcessNode(KubernetesClient client, String name, Path root, List<String> javaCommand) {
        this.client = client;
        this.name = name;
        this.root = root;
        this.javaCommand = List.copyOf(javaCommand);
    }

    public String name() {
        return name;
    }

    /**
     * What losing a node does to a pod: its process dies at once (SIGKILL, no shutdown hooks) and the pod is gone; its
     * controller (a Deployment, a Job) makes a replacement.
     */
    public void killPod(String namespace, String podName) throws InterruptedException {
        RunningPod running = pods.values().stream().filter(p -> p.pod.getMetadata().getNamespace().equals(namespace)
                && p.pod.getMetadata().getName().equals(podName)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no pod " + namespace + "/" + podName + " runs here"));
        running.killed = true; // no restart, no status write from here on
        Process process = running.process;
        process.destroyForcibly();
        process.waitFor();
        client.pods().inNamespace(namespace).withName(podName).withGracePeriod(0).delete();
    }

    /**
     * What a crashing container does (a SIGKILL from the OOM killer, a segfault): its process dies at once, the pod
     * stays, and its restart policy decides what follows, as a kubelet's would: Never (a Job's pods) leaves the pod
     * Failed with exit code 137 for its controller to replace, Always and OnFailure start the container again.
     */
    public void crashContainer(String namespace, String podName) throws InterruptedException {
        RunningPod running = pods.values().stream().filter(p -> p.pod.getMetadata().getNamespace().equals(namespace)
                && p.pod.getMetadata().getName().equals(podName)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no pod " + namespace + "/" + podName + " runs here"));
        Process process = running.process;
        if (process == null || !process.isAlive()) {
            throw new IllegalStateException("the container of " + namespace + "/" + podName + " is not running");
        }
        process.destroyForcibly(); // SIGKILL; its exit is handled like any other (exited(137, ...))
        process.waitFor();
    }

    /** The directory standing for a PVC's volume. */
    public Path claimDir(String claim) {
        return root.resolve("pvc").resolve(claim);
    }

    /**
     * What a storage provisioner does: a PersistentVolume bound to a new claim of this name (the scheduler will not
     * place a pod whose claim is missing or unbound). Returns the directory that stands for the volume.
     */
    public Path provideClaim(String namespace, String claim) throws IOException {
        Path dir = Files.createDirectories(claimDir(claim));
        String pv = "pv-" + namespace + "-" + claim;
        client.resource(new io.fabric8.kubernetes.api.model.PersistentVolumeBuilder().withNewMetadata().withName(pv).endMetadata()
                .withNewSpec().withCapacity(Map.of("storage", new Quantity("1Gi"))).withAccessModes("ReadWriteMany")
                .withStorageClassName("").withNewHostPath().withPath(dir.toString()).endHostPath()
                .withNewClaimRef().withNamespace(namespace).withName(claim).endClaimRef().endSpec().build()).create();
        client.resource(new io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder().withNewMetadata().withName(claim)
                .withNamespace(namespace).endMetadata().withNewSpec().withAccessModes("ReadWriteMany").withStorageClassName("")
                .withVolumeName(pv).withNewResources().addToRequests("storage", new Quantity("1Gi")).endResources()
                .endSpec().build()).create();
        return dir;
    }

    /**
     * Holds the thread of the next pod matching {@code pod} that returns from {@code className.methodName} with
     * arguments {@code when} accepts, until the test releases it, counting calls of the class's {@code counted} methods
     * meanwhile (see {@link ThreadHold}). Register before the pod starts.
     */
    public ThreadHold hold(Predicate<Pod> pod, String className, String methodName, Predicate<List<Object>> when,
            String... counted) {
        ThreadHold hold = new ThreadHold(pod, className, methodName, when, java.util.Set.of(counted));
        holds.add(hold);
        return hold;
    }

    /** Registers the node with the given labels and extended resources (e.g. nvidia.com/gpu) and starts taking pods. */
    public ProcessNode start(Map<String, String> labels, Map<String, String> extendedResources) {
        Map<String, Quantity> capacity = new LinkedHashMap<>();
        capacity.put("cpu", new Quantity("8"));
        capacity.put("memory", new Quantity("32Gi"));
        capacity.put("pods", new Quantity("20"));
        extendedResources.forEach((k, v) -> capacity.put(k, new Quantity(v)));
        FakeNodes.register(client, name, labels, capacity, "process");
        // an informer, as a kubelet's: when its watch is cut (an API server restart) it watches again, or lists again
        // and learns what it missed (a pod deleted meanwhile), where a plain watch would end for good on "410 Gone"
        informer = client.pods().inAnyNamespace().withField("spec.nodeName", name).inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod pod) {
                executor.execute(() -> onPod(Watcher.Action.ADDED, pod));
            }

            @Override
            public void onUpdate(Pod before, Pod pod) {
                executor.execute(() -> onPod(Watcher.Action.MODIFIED, pod));
            }

            @Override
            public void onDelete(Pod pod, boolean finalStateUnknown) {
                executor.execute(() -> onPod(Watcher.Action.DELETED, pod));
            }
        });
        return this;
    }

    private synchronized void onPod(Watcher.Action action, Pod pod) {
        String uid = pod.getMetadata().getUid();
        if (action == Watcher.Action.DELETED) {
            RunningPod running = pods.remove(uid);
            if (running != null) {
                running.kill();
            }
            return;
        }
        if (pod.getMetadata().getDeletionTimestamp() != null) {
            RunningPod running = pods.remove(uid);
            if (running != null) {
                running.kill();
            }
            try {
                client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
                        .withGracePeriod(0).delete();
            } catch (KubernetesClientException ignored) {
                // already gone
            }
            return;
        }
        if (!pods.containsKey(uid) && (pod.getStatus() == null || pod.getStatus().getPhase() == null
                || "Pending".equals(pod.getStatus().getPhase()))) {
            RunningPod running = new RunningPod(pod, "127.0.0." + nextIp.getAndIncrement());
            pods.put(uid, running);
            running.start();
        }
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
        pods.values().forEach(RunningPod::kill);
        executor.shutdownNow();
        try {
            client.nodes().withName(name).delete();
        } catch (KubernetesClientException ignored) {
            // the cluster may already be gone
        }
    }

    private static String now() {
        return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    }

    /** One pod's single container, run as a process; restarted when the pod's restart policy says so. */
    private final class RunningPod {
        private final Pod pod;
        private final String ip;
        private final Container container;
        private final Path dir;
        private volatile Process process;
        private volatile boolean killed;
        private volatile boolean ready;
        private int restarts;

        RunningPod(Pod pod, String ip) {
            this.pod = pod;
            this.ip = ip;
            this.container = pod.getSpec().getContainers().get(0);
            this.dir = root.resolve("pods").resolve(pod.getMetadata().getUid());
        }

        void start() {
            try {
                Files.createDirectories(dir);
                launch();
            } catch (IOException | RuntimeException e) {
                terminated(128, "ContainerCannotRun", e.toString());
            }
        }

        private void launch() throws IOException {
            Map<String, String> env = environment();
            List<String> command = new ArrayList<>(javaCommand);
            for (ThreadHold hold : holds) {
                if (hold.claim(pod)) {
                    holds.remove(hold);
                    command.add(1, hold.listen()); // right after the java executable: a JVM option
                    break;
                }
            }
            for (String arg : container.getArgs()) {
                command.add(mapPaths(expand(arg, env)));
            }
            Path terminationFile = dir.resolve(container.getName() + ".termination");
            Files.deleteIfExists(terminationFile);
            ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(container.getName() + ".log").toFile()));
            builder.environment().putAll(env);
            builder.environment().put("POLLARD_TERMINATION_MESSAGE_PATH", terminationFile.toString());
            process = builder.start();
            running();
            process.onExit().thenAccept(p -> exited(p.exitValue(), terminationFile));
            if (container.getReadinessProbe() != null && container.getReadinessProbe().getHttpGet() != null) {
                executor.schedule(this::probe, 1, TimeUnit.SECONDS);
            } else {
                ready = true;
                running();
            }
        }

        private Map<String, String> environment() throws IOException {
            Map<String, String> env = new LinkedHashMap<>();
            env.put("HOME", dir.toString());
            serviceAccountCredentials(env);
            for (EnvVar e : container.getEnv() == null ? List.<EnvVar>of() : container.getEnv()) {
                String value = e.getValue();
                if (e.getValueFrom() != null && e.getValueFrom().getFieldRef() != null) {
                    value = switch (e.getValueFrom().getFieldRef().getFieldPath()) {
                        case "status.podIP" -> ip;
                        case "metadata.name" -> pod.getMetadata().getName();
                        case "metadata.namespace" -> pod.getMetadata().getNamespace();
                        case "spec.nodeName" -> name;
                        default -> null;
                    };
                } else if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
                    var ref = e.getValueFrom().getSecretKeyRef();
                    Secret secret = client.secrets().inNamespace(pod.getMetadata().getNamespace()).withName(ref.getName()).get();
                    String data = secret == null || secret.getData() == null ? null : secret.getData().get(ref.getKey());
                    value = data == null ? null : new String(Base64.getDecoder().decode(data), StandardCharsets.UTF_8);
                }
                if (value != null) {
                    env.put(e.getName(), expand(mapPaths(value), env));
                }
            }
            return env;
        }

        /**
         * What a kubelet gives a pod that mounts its service account's token: a token of that account (TokenRequest, as
         * the kubelet asks for it), the cluster's CA and the API server's address, where the Kubernetes client looks for
         * them in a pod (its KUBERNETES_* variables instead of /var/run/secrets, which a process here cannot own).
         */
        private void serviceAccountCredentials(Map<String, String> env) throws IOException {
            String account = pod.getSpec().getServiceAccountName();
            if (account == null || Boolean.FALSE.equals(pod.getSpec().getAutomountServiceAccountToken())) {
                return;
            }
            String token = client.serviceAccounts().inNamespace(pod.getMetadata().getNamespace()).withName(account)
                    .tokenRequest(new io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder().withNewSpec()
                            .withExpirationSeconds(24 * 3600L).endSpec().build())
                    .getStatus().getToken();
            Path tokenFile = Files.createDirectories(dir.resolve("serviceaccount")).resolve("token");
            Files.writeString(tokenFile, token);
            URI server = URI.create(client.getMasterUrl().toString());
            env.put("KUBERNETES_SERVICE_HOST", server.getHost());
            env.put("KUBERNETES_SERVICE_PORT", Integer.toString(server.getPort()));
            env.put("KUBERNETES_AUTH_SERVICEACCOUNT_TOKEN", tokenFile.toString());
            env.put("KUBERNETES_CERTS_CA_FILE", client.getConfiguration().getCaCertFile());
            env.put("KUBERNETES_NAMESPACE", pod.getMetadata().getNamespace());
        }

        /** Kubernetes' $(VAR) expansion of arguments from the container's environment. */
        private String expand(String text, Map<String, String> env) {
            Matcher m = VAR.matcher(text);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                m.appendReplacement(out, Matcher.quoteReplacement(env.getOrDefault(m.group(1), m.group())));
            }
            return m.appendTail(out).toString();
        }

        /** What a kubelet mounts: a mount path at the start of a value becomes the volume's directory here. */
        private String mapPaths(String value) {
            if (container.getVolumeMounts() == null) {
                return value;
            }
            for (VolumeMount mount : container.getVolumeMounts()) {
                String path = mount.getMountPath();
                if (value.equals(path) || value.startsWith(path + "/")) {
                    return volumeDir(mount.getName()) + value.substring(path.length());
                }
            }
            return value;
        }

        private Path volumeDir(String volumeName) {
            Volume volume = pod.getSpec().getVolumes().stream().filter(v -> v.getName().equals(volumeName)).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no volume " + volumeName));
            try {
                Path dir = volume.getPersistentVolumeClaim() != null
                        ? claimDir(volume.getPersistentVolumeClaim().getClaimName())
                        : this.dir.resolve("volumes").resolve(volumeName);
                return Files.createDirectories(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private void probe() {
            if (killed || process == null || !process.isAlive()) {
                return;
            }
            var get = container.getReadinessProbe().getHttpGet();
            int port = get.getPort().getIntVal() != null ? get.getPort().getIntVal()
                    : container.getPorts().stream().filter(p -> get.getPort().getStrVal().equals(p.getName()))
                            .findFirst().orElseThrow().getContainerPort();
            boolean ok;
            try {
                var response = http.send(HttpRequest.newBuilder(URI.create("http://" + ip + ":" + port + get.getPath()))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                ok = response.statusCode() >= 200 && response.statusCode() < 400;
            } catch (IOException e) {
                ok = false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (ok != ready) {
                ready = ok;
                running();
            }
            executor.schedule(this::probe, 1, TimeUnit.SECONDS);
        }

        private void exited(int exitCode, Path terminationFile) {
            if (killed) {
                return;
            }
            String message = "";
            try {
                if (Files.exists(terminationFile)) {
                    byte[] bytes = Files.readAllBytes(terminationFile);
                    message = new String(bytes, 0, Math.min(bytes.length, 4096), StandardCharsets.UTF_8);
                } else if (exitCode != 0 && "FallbackToLogsOnError".equals(container.getTerminationMessagePolicy())) {
                    List<String> lines = Files.readAllLines(dir.resolve(container.getName() + ".log"));
                    message = String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
                }
            } catch (IOException e) {
                message = "could not read termination message: " + e.getMessage();
            }
            String policy = pod.getSpec().getRestartPolicy();
            if ("Always".equals(policy) || ("OnFailure".equals(policy) && exitCode != 0)) {
                restarts++;
                ready = false;
                executor.schedule(() -> {
                    if (killed) {
                        return; // deleted while it waited for its restart
                    }
                    try {
                        launch();
                    } catch (IOException e) {
                        terminated(128, "ContainerCannotRun", e.toString());
                    }
                }, Math.min(10, restarts), TimeUnit.SECONDS);
                return;
            }
            terminated(exitCode, exitCode == 0 ? "Completed" : "Error", message);
        }

        void kill() {
            killed = true;
            Process p = process;
            if (p != null && p.isAlive()) {
                p.destroy();
                try {
                    if (!p.waitFor(10, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    p.destroyForcibly();
                }
            }
        }

        private void running() {
            ContainerStatus status = base().withReady(ready).withStarted(true)
                    .withState(new ContainerStateBuilder().withNewRunning().withStartedAt(now()).endRunning().build()).build();
            writeStatus("Running", status, ready);
        }

        private void terminated(int exitCode, String reason, String message) {
            ContainerStatus status = base().withReady(false).withStarted(false)
                    .withState(new ContainerStateBuilder().withNewTerminated().withExitCode(exitCode).withReason(reason)
                            .withMessage(message).withFinishedAt(now()).endTerminated().build()).build();
            writeStatus(exitCode == 0 ? "Succeeded" : "Failed", status, false);
        }

        private ContainerStatusBuilder base() {
            return new ContainerStatusBuilder().withName(container.getName()).withImage(container.getImage())
                    .withImageID("process://" + container.getImage()).withContainerID("process://" + pod.getMetadata().getUid())
                    .withRestartCount(restarts);
        }

        private synchronized void writeStatus(String phase, ContainerStatus containerStatus, boolean podReady) {
            if (killed) {
                return;
            }
            List<PodCondition> conditions = List.of(
                    condition("PodScheduled", true), condition("Initialized", true),
                    condition("ContainersReady", podReady), condition("Ready", podReady));
            // a read-modify-write: the Job controller may change the pod (its tracking finalizer) in between, and the
            // write is then refused with 409; read it again and write again, as a kubelet does
            for (boolean written = false; !written; ) {
                written = tryWriteStatus(phase, containerStatus, conditions);
            }
        }

        private boolean tryWriteStatus(String phase, ContainerStatus containerStatus, List<PodCondition> conditions) {
            try {
                client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
                        .editStatus(p -> {
                            p.getStatus().setPhase(phase);
                            p.getStatus().setPodIP(ip);
                            p.getStatus().setPodIPs(List.of(new io.fabric8.kubernetes.api.model.PodIP(ip)));
                            p.getStatus().setHostIP("127.0.0.1");
                            if (p.getStatus().getStartTime() == null) {
                                p.getStatus().setStartTime(now());
                            }
                            p.getStatus().setConditions(conditions);
                            p.getStatus().setContainerStatuses(List.of(containerStatus));
                            return p;
                        });
                return true;
            } catch (KubernetesClientException e) {
                // on anything but a conflict the pod is gone (deleted by its owner): nothing left to report on
                return e.getCode() != 409;
            }
        }

        private PodCondition condition(String type, boolean status) {
            return new PodConditionBuilder().withType(type).withStatus(status ? "True" : "False")
                    .withLastTransitionTime(now()).build();
        }
    }
}

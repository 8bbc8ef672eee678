package dev.pollard.e2e;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The driver of {@code bench/operator-scale.sh}: against a local control plane with the real operator running in a
 * process of its own (pid and metrics address given) and a {@link StandInNode}, creates COUNT PruningJobs and COUNT
 * InferenceDeployments spread over a few namespaces at a steady rate, after a warm-up of the same kind in a namespace of
 * its own (its latencies reported apart), and measures, from watch events it receives itself (nanosecond clock, not the
 * whole-second timestamps of conditions):
 * <ul>
 * <li>PruningJob created (its ADDED event) to its Job created (the Job's ADDED event);
 * <li>the Job's Complete condition first seen to the PruningJob's status.phase Succeeded first seen;
 * <li>InferenceDeployment created to its Deployment created; and, for context, each kind created to done;
 * <li>the operator's RSS (VmRSS sampled, VmHWM) and CPU time (utime + stime) from /proc;
 * <li>API requests during the run from the API server's apiserver_request_total, by verb and resource, attributed to
 *     who makes them, and the operator's requests per reconciliation (its /q/metrics reconciliation counts).
 * </ul>
 * Prints a Markdown table; never asserts anything. Exits non-zero only when the run did not finish within its bound.
 */
public final class OperatorScaleBench {
    static final String BENCH_LABEL = "pollard.dev/bench";
    static final String BENCH = "operator-scale";
    static final String CLAIM = "scale-models";
    static final String SOURCE_SHA256 = StandInNode.sha256("operator-scale source model");
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})?\\s+(\\S+)(\\s+\\d+)?$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    private final KubernetesClient client;
    private Options options;
    private final HttpClient http = HttpClient.newHttpClient();
    private final long origin = System.nanoTime();
    private final Instant originUtc = Instant.now();

    private final Map<String, Long> pjAdded = new ConcurrentHashMap<>();
    private final Map<String, Long> jobAdded = new ConcurrentHashMap<>();
    private final Map<String, Long> jobComplete = new ConcurrentHashMap<>();
    private final Map<String, Long> pjSucceeded = new ConcurrentHashMap<>();
    private final Map<String, String> pjFailed = new ConcurrentHashMap<>();
    private final Map<String, Long> infdAdded = new ConcurrentHashMap<>();
    private final Map<String, Long> deploymentAdded = new ConcurrentHashMap<>();
    private final Map<String, Long> infdReady = new ConcurrentHashMap<>();
    private final Map<String, Long> createdAt = new ConcurrentHashMap<>();
    /** Resources whose Ready condition reported a reconciliation error at some point, with the first message. */
    private final Map<String, String> errors = new ConcurrentHashMap<>();
    private final AtomicLong createLagMax = new AtomicLong();
    private final AtomicInteger createErrors = new AtomicInteger();
    /** The namespaces whose resources the watches record: the warm-up's, then the measured ones. */
    private volatile Set<String> recorded = Set.of();
    private volatile CountDownLatch pjDone;
    private volatile CountDownLatch infdDone;

    record Options(int count, int deployments, int warmUp, int namespaces, double rate, long operatorPid, URI operatorMetrics, Duration timeout,
            String hardwareClass, Path out, int clockTicks, Map<String, Long> processes, Path handover) {
        static Options parse(String[] args) {
            Map<String, String> a = new HashMap<>();
            for (int i = 0; i + 1 < args.length; i += 2) {
                a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
            }
            int count = Integer.parseInt(a.getOrDefault("count", "1000"));
            return new Options(count, Integer.parseInt(a.getOrDefault("inference-deployments", String.valueOf(count))),
                    Integer.parseInt(a.getOrDefault("warm-up", "0")),
                    Integer.parseInt(a.getOrDefault("namespaces", "4")),
                    Double.parseDouble(a.getOrDefault("rate", "10")),
                    Long.parseLong(Objects.requireNonNull(a.get("operator-pid"), "--operator-pid")),
                    URI.create(Objects.requireNonNull(a.get("operator-metrics"), "--operator-metrics")),
                    Duration.ofMinutes(Long.parseLong(a.getOrDefault("timeout-minutes", "30"))),
                    a.getOrDefault("hardware-class", "h100"),
                    Path.of(a.getOrDefault("out", "target/operator-scale")),
                    Integer.parseInt(a.getOrDefault("clock-ticks", "100")), processes(a.getOrDefault("processes", "")),
                    a.containsKey("handover") ? Path.of(a.get("handover")) : null);
        }

        /** The same options for a new operator process. */
        Options withOperator(long pid, URI metrics) {
            Map<String, Long> named = new LinkedHashMap<>(processes);
            named.put("operator", pid);
            return new Options(count, deployments, warmUp, namespaces, rate, pid, metrics, timeout, hardwareClass, out,
                    clockTicks, named, handover);
        }

        /** "name=pid,name=pid": the processes whose CPU time the machine line accounts for by name. */
        private static Map<String, Long> processes(String text) {
            Map<String, Long> named = new LinkedHashMap<>();
            for (String pair : text.split(",")) {
                String[] kv = pair.split("=");
                if (kv.length == 2) {
                    named.put(kv[0].strip(), Long.parseLong(kv[1].strip()));
                }
            }
            return named;
        }
    }

    private OperatorScaleBench(KubernetesClient client, Options options) {
        this.client = client;
        this.options = options;
    }

    public static void main(String[] args) throws Exception {
        Options options = Options.parse(args);
        Files.createDirectories(options.out());
        int status;
        try (KubernetesClient client = new KubernetesClientBuilder().build()) {
            status = new OperatorScaleBench(client, options).run();
        }
        System.exit(status);
    }

    private long now() {
        return System.nanoTime() - origin;
    }

    private static String key(HasMetadata r) {
        return r.getMetadata().getNamespace() + "/" + r.getMetadata().getName();
    }

    private int run() throws Exception {
        List<String> namespaces = new ArrayList<>();
        for (int n = 0; n < options.namespaces(); n++) {
            namespaces.add("scale-" + n);
        }
        for (String ns : namespaces) {
            provideClaim(ns);
        }
        List<SharedIndexInformer<?>> informers = watch();
        String warmUp = options.warmUp() > 0 ? warmUp("scale-warm-up", options.warmUp()) : "";
        if (options.handover() != null) {
            options = handOver(options.handover());
            warmUp += String.format(Locale.ROOT, "Then that operator was stopped and a new one started into the warm "
                    + "cluster, as after an upgrade: the figures above are the new operator's.%n");
        }
        ProcSampler sampler = new ProcSampler(options.operatorPid(), options.clockTicks());
        sampler.start(client.getMasterUrl().getPort());
        // the operator's memory as the resources grow: one line a second (seconds, MB, resources created, done)
        List<String> series = new CopyOnWriteArrayList<>(List.of("seconds,rss_mb,cpu_s,pruningjobs,jobs,succeeded,"
                + "inferencedeployments,deployments,ready"));
        ScheduledExecutorService recorder = Executors.newSingleThreadScheduledExecutor();
        recorder.scheduleAtFixedRate(() -> series.add(String.format(Locale.ROOT, "%.1f,%.1f,%.2f,%d,%d,%d,%d,%d,%d",
                now() / 1e9, sampler.rssKb() / 1024.0, sampler.cpuSeconds(), pjAdded.size(), jobAdded.size(),
                pjSucceeded.size(), infdAdded.size(), deploymentAdded.size(), infdReady.size())), 0, 1, TimeUnit.SECONDS);

        recorded = Set.copyOf(namespaces);
        pjDone = new CountDownLatch(options.count());
        infdDone = new CountDownLatch(options.deployments());

        MachineCpu machine = new MachineCpu(options.processes(), options.clockTicks());
        Map<List<String>, Double> apiBefore = apiRequests();
        Map<List<String>, double[]> apiTimeBefore = apiTime();
        Map<String, Map<String, Double>> operatorBefore = operatorMetrics();
        double cpuBefore = sampler.cpuSeconds();
        long start = now();
        System.err.printf("creating %d PruningJobs and %d InferenceDeployments in %d namespaces at %s per second each%n",
                options.count(), options.deployments(), namespaces.size(),
                options.rate() > 0 ? fmt(options.rate()) : "as fast as they go");

        boolean finished = createAll(namespaces, options.count(), options.deployments(), start);
        long created = now();
        finished = finished && awaitDone();
        long done = now();
        if (!finished) {
            System.err.printf("not finished within %s: %d of %d PruningJobs ended, %d of %d InferenceDeployments ready%n",
                    options.timeout(), pjSucceeded.size() + pjFailed.size(), options.count(), infdReady.size(),
                    options.deployments());
        }
        Map<String, Map<String, Double>> operatorAfter = settle(operatorBefore);
        long settled = now();
        Map<List<String>, Double> apiAfter = apiRequests();
        Map<List<String>, double[]> apiTimeAfter = apiTime();
        double cpuAfter = sampler.cpuSeconds();
        long rssEnd = sampler.rssKb();
        sampler.stop();
        recorder.shutdownNow();
        Files.write(options.out().resolve("operator-rss.csv"), List.copyOf(series));
        writeTimeline(namespaces);
        informers.forEach(SharedIndexInformer::close);
        String machineLine = machine.end();
        Map<String, int[]> operatorEvents = operatorEvents(namespaces);

        StringBuilder table = new StringBuilder();
        report(table, namespaces, start, created, done, settled, apiBefore, apiAfter, operatorBefore, operatorAfter,
                cpuBefore, cpuAfter, sampler, rssEnd, operatorEvents);
        table.append(warmUp);
        reportApiTime(table, apiTimeBefore, apiTimeAfter);
        table.append(machineLine);
        System.out.print(table);
        Files.writeString(options.out().resolve("table.md"), table);
        return finished ? 0 : 1;
    }

    /**
     * Creates the resources over the namespaces at the rate, each create on a thread of its own so that a slow one does
     * not hold back those due after it; false when they did not all go out within the timeout.
     */
    private boolean createAll(List<String> namespaces, int count, int deployments, long start) throws InterruptedException {
        ScheduledExecutorService creators = Executors.newScheduledThreadPool(16);
        for (int i = 0; i < Math.max(count, deployments); i++) {
            String ns = namespaces.get(i % namespaces.size());
            String pj = String.format("pj-%05d", i);
            String infd = String.format("infd-%05d", i);
            long due = options.rate() > 0 ? (long) (i * 1e9 / options.rate()) : 0;
            if (i < count) {
                creators.schedule(() -> create(ns, pj, pruningJob(ns, pj), due + start), due, TimeUnit.NANOSECONDS);
            }
            if (i < deployments) {
                creators.schedule(() -> create(ns, infd, inferenceDeployment(ns, infd), due + start), due, TimeUnit.NANOSECONDS);
            }
        }
        creators.shutdown();
        return creators.awaitTermination(options.timeout().toSeconds(), TimeUnit.SECONDS);
    }

    /** Waits for every PruningJob to end and every InferenceDeployment to be Ready; false when the timeout came first. */
    private boolean awaitDone() throws InterruptedException {
        long deadline = System.nanoTime() + options.timeout().toNanos();
        return pjDone.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)
                && infdDone.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
    }

    /**
     * The run's first resources after the operator's start, in a namespace of their own and at the same rate, done
     * before anything is measured: a cluster and an operator that have been serving (classes loaded, code compiled,
     * caches and connections up), which is what users create into. Their figures are reported on a line of their own
     * (the cold start), and the watches forget them.
     */
    private String warmUp(String ns, int n) throws InterruptedException {
        provideClaim(ns);
        recorded = Set.of(ns);
        pjDone = new CountDownLatch(n);
        infdDone = new CountDownLatch(n);
        System.err.printf("warming up: %d PruningJobs and %d InferenceDeployments in %s%n", n, n, ns);
        long start = now();
        if (!createAll(List.of(ns), n, n, start) || !awaitDone()) {
            throw new IllegalStateException("the warm-up did not finish within " + options.timeout());
        }
        Latency toJob = new Latency("", between(pjAdded, jobAdded), n);
        Latency toDeployment = new Latency("", between(infdAdded, deploymentAdded), n);
        String line = String.format(Locale.ROOT, "%nWarm-up before the figures above (the operator's first %d PruningJobs "
                + "and %d InferenceDeployments after its start, in %s at the same rate, done in %.1f s; they stay, so "
                + "the operator's RSS above holds them; counted in no other figure above): PruningJob created → its Job created p50 %s s, p99 %s s, max %s s; "
                + "InferenceDeployment created → Deployment created p50 %s s, p99 %s s, max %s s; %d create errors, %d "
                + "resources reporting a reconciliation error.%n", n, n, ns, (now() - start) / 1e9, fmt(toJob.p(0.5)),
                fmt(toJob.p(0.99)), fmt(toJob.max()), fmt(toDeployment.p(0.5)), fmt(toDeployment.p(0.99)),
                fmt(toDeployment.max()), createErrors.getAndSet(0), errors.size());
        recorded = Set.of();
        Stream.of(pjAdded, jobAdded, jobComplete, pjSucceeded, pjFailed, infdAdded, deploymentAdded, infdReady, createdAt,
                errors).forEach(Map::clear);
        createLagMax.set(0);
        return line;
    }

    /**
     * Tells the script that the warm-up is done (DIR/warm) and waits for it to have started a new operator (DIR/operator:
     * its pid and metrics URL, written whole by a rename).
     */
    private Options handOver(Path dir) throws IOException, InterruptedException {
        Path answer = dir.resolve("operator");
        try (WatchService watcher = dir.getFileSystem().newWatchService()) {
            dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE); // before asking, so the answer cannot be missed
            Files.writeString(dir.resolve("warm"), "");
            long deadline = System.nanoTime() + options.timeout().toNanos();
            while (!Files.exists(answer)) {
                WatchKey key = watcher.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (key == null) {
                    throw new IllegalStateException("no new operator within " + options.timeout());
                }
                key.pollEvents();
                key.reset();
            }
        }
        String[] fields = Files.readString(answer).strip().split(" ");
        System.err.println("measuring the new operator, pid " + fields[0]);
        return options.withOperator(Long.parseLong(fields[0]), URI.create(fields[1]));
    }

    // ---- set-up --------------------------------------------------------------------------------------------------

    /** What a storage provisioner does: a PersistentVolume bound to the namespace's claim, which the pods mount. */
    private void provideClaim(String ns) {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
                .serverSideApply();
        String pv = "pv-" + ns + "-" + CLAIM;
        client.resource(new PersistentVolumeBuilder().withNewMetadata().withName(pv).endMetadata()
                .withNewSpec().withCapacity(Map.of("storage", new Quantity("1Gi"))).withAccessModes("ReadWriteMany")
                .withStorageClassName("").withNewHostPath().withPath("/tmp/pollard-operator-scale/" + ns).endHostPath()
                .withNewClaimRef().withNamespace(ns).withName(CLAIM).endClaimRef().endSpec().build()).serverSideApply();
        client.resource(new PersistentVolumeClaimBuilder().withNewMetadata().withName(CLAIM).withNamespace(ns).endMetadata()
                .withNewSpec().withAccessModes("ReadWriteMany").withStorageClassName("").withVolumeName(pv)
                .withNewResources().addToRequests("storage", new Quantity("1Gi")).endResources().endSpec().build())
                .serverSideApply();
        // the scheduler places no pod whose claim is unbound; the PV controller binds it (a watch, bounded)
        client.persistentVolumeClaims().inNamespace(ns).withName(CLAIM)
                .waitUntilCondition(c -> c != null && c.getStatus() != null && "Bound".equals(c.getStatus().getPhase()),
                        2, TimeUnit.MINUTES);
    }

    private GenericKubernetesResource pruningJob(String ns, String name) {
        return Serialization.unmarshal("""
                apiVersion: pollard.dev/v1alpha1
                kind: PruningJob
                metadata:
                  name: %1$s
                  namespace: %2$s
                  labels: {%3$s: %4$s}
                spec:
                  model: {uri: "pvc://%5$s/source/model.onnx", sha256: %6$s, format: onnx}
                  dataset: {uri: "pvc://%5$s/data/train.npz", format: npz}
                  hardwareClass: %7$s
                  energyBudget: {targetReduction: 0.4}
                  accuracy: {epsilon: 0.01}
                  output: {uri: "pvc://%5$s/pruned/%1$s"}
                """.formatted(name, ns, BENCH_LABEL, BENCH, CLAIM, SOURCE_SHA256, options.hardwareClass()),
                GenericKubernetesResource.class);
    }

    private GenericKubernetesResource inferenceDeployment(String ns, String name) {
        return Serialization.unmarshal("""
                apiVersion: pollard.dev/v1alpha1
                kind: InferenceDeployment
                metadata:
                  name: %1$s
                  namespace: %2$s
                  labels: {%3$s: %4$s}
                spec:
                  model: {uri: "pvc://%5$s/source/model.onnx", sha256: %6$s}
                  hardwareClass: %7$s
                  replicas: 1
                """.formatted(name, ns, BENCH_LABEL, BENCH, CLAIM, SOURCE_SHA256, options.hardwareClass()),
                GenericKubernetesResource.class);
    }

    private void create(String ns, String name, GenericKubernetesResource resource, long due) {
        createLagMax.accumulateAndGet(now() - due, Math::max);
        try {
            client.resource(resource).create();
            createdAt.put(resource.getKind() + "/" + ns + "/" + name, now());
        } catch (RuntimeException e) {
            createErrors.incrementAndGet();
            System.err.println("could not create " + resource.getKind() + " " + ns + "/" + name + ": " + e.getMessage());
        }
    }

    // ---- watches: every timestamp is taken here, when the event arrives -----------------------------------------

    private List<SharedIndexInformer<?>> watch() {
        List<SharedIndexInformer<?>> informers = new ArrayList<>();
        informers.add(client.genericKubernetesResources("pollard.dev/v1alpha1", "PruningJob").inAnyNamespace()
                .withLabel(BENCH_LABEL, BENCH).inform(handler(pj -> {
                    long t = now();
                    pjAdded.putIfAbsent(key(pj), t);
                    noteError(pj);
                    Object phase = status(pj).get("phase");
                    if ("Succeeded".equals(phase) && pjSucceeded.putIfAbsent(key(pj), t) == null) {
                        pjDone.countDown();
                    } else if ("Failed".equals(phase) && pjFailed.putIfAbsent(key(pj), readyMessage(pj)) == null) {
                        System.err.println("PruningJob " + key(pj) + " failed: " + readyMessage(pj));
                        pjDone.countDown();
                    }
                })));
        informers.add(client.batch().v1().jobs().inAnyNamespace().withLabel("app.kubernetes.io/managed-by", "pollard-operator")
                .inform(handler((Job job) -> {
                    long t = now();
                    String owner = job.getMetadata().getLabels().get("pollard.dev/pruningjob");
                    String k = job.getMetadata().getNamespace() + "/" + owner;
                    jobAdded.putIfAbsent(k, t);
                    if (job.getStatus() != null && job.getStatus().getConditions() != null
                            && job.getStatus().getConditions().stream()
                                    .anyMatch(c -> "Complete".equals(c.getType()) && "True".equals(c.getStatus()))) {
                        jobComplete.putIfAbsent(k, t);
                    }
                })));
        informers.add(client.genericKubernetesResources("pollard.dev/v1alpha1", "InferenceDeployment").inAnyNamespace()
                .withLabel(BENCH_LABEL, BENCH).inform(handler(infd -> {
                    long t = now();
                    infdAdded.putIfAbsent(key(infd), t);
                    noteError(infd);
                    if (ready(infd) && infdReady.putIfAbsent(key(infd), t) == null) {
                        infdDone.countDown();
                    }
                })));
        informers.add(client.apps().deployments().inAnyNamespace().withLabel("app.kubernetes.io/managed-by", "pollard-operator")
                .inform(handler((Deployment d) -> deploymentAdded.putIfAbsent(key(d), now()))));
        return informers;
    }

    private void noteError(GenericKubernetesResource r) {
        if ("ReconcileError".equals(readyCondition(r).get("reason"))
                && errors.putIfAbsent(r.getKind() + " " + key(r), readyMessage(r)) == null && errors.size() <= 3) {
            System.err.println(r.getKind() + " " + key(r) + " reported an error: " + readyMessage(r));
        }
    }

    private <T extends HasMetadata> ResourceEventHandler<T> handler(Consumer<T> seen) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                onUpdate(null, obj);
            }

            @Override
            public void onUpdate(T before, T obj) {
                if (recorded.contains(obj.getMetadata().getNamespace())) {
                    seen.accept(obj);
                }
            }

            @Override
            public void onDelete(T obj, boolean finalStateUnknown) {
            }
        };
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> status(GenericKubernetesResource r) {
        Object s = r.getAdditionalProperties().get("status");
        return s instanceof Map ? (Map<String, Object>) s : Map.of();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> readyCondition(GenericKubernetesResource r) {
        Object conditions = status(r).get("conditions");
        if (conditions instanceof List<?> list) {
            for (Object c : list) {
                if (c instanceof Map && "Ready".equals(((Map<String, Object>) c).get("type"))) {
                    return (Map<String, Object>) c;
                }
            }
        }
        return Map.of();
    }

    private static boolean ready(GenericKubernetesResource r) {
        return "True".equals(readyCondition(r).get("status"));
    }

    private static String readyMessage(GenericKubernetesResource r) {
        return String.valueOf(readyCondition(r).get("message"));
    }

    // ---- metrics ---------------------------------------------------------------------------------------------------

    /** apiserver_request_total summed by (verb, group, resource, subresource). */
    private Map<List<String>, Double> apiRequests() {
        Map<List<String>, Double> sums = new TreeMap<>((a, b) -> String.join("/", a).compareTo(String.join("/", b)));
        for (String line : client.raw("/metrics").split("\n")) {
            if (!line.startsWith("apiserver_request_total{")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line.strip());
            if (m.matches()) {
                Map<String, String> labels = labels(m.group(3));
                List<String> key = List.of(labels.getOrDefault("verb", ""), labels.getOrDefault("group", ""),
                        labels.getOrDefault("resource", ""), labels.getOrDefault("subresource", ""));
                sums.merge(key, Double.parseDouble(m.group(4)), Double::sum);
            }
        }
        return sums;
    }

    /** apiserver_request_duration_seconds by (verb, group, resource, subresource): {seconds in all, requests}; no watches. */
    private Map<List<String>, double[]> apiTime() {
        Map<List<String>, double[]> time = new HashMap<>();
        for (String line : client.raw("/metrics").split("\n")) {
            boolean sum = line.startsWith("apiserver_request_duration_seconds_sum{");
            if (!sum && !line.startsWith("apiserver_request_duration_seconds_count{")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line.strip());
            if (m.matches()) {
                Map<String, String> labels = labels(m.group(3));
                if (!labels.getOrDefault("verb", "").equals("WATCH")) {
                    List<String> key = List.of(labels.getOrDefault("verb", ""), labels.getOrDefault("group", ""),
                            labels.getOrDefault("resource", ""), labels.getOrDefault("subresource", ""));
                    time.computeIfAbsent(key, k -> new double[2])[sum ? 0 : 1] += Double.parseDouble(m.group(4));
                }
            }
        }
        return time;
    }

    /** Where the API server's time went: the requests that took the most of it in all, with their mean. */
    private static void reportApiTime(StringBuilder out, Map<List<String>, double[]> before, Map<List<String>, double[]> after) {
        out.append("\n| API server time during the run (apiserver_request_duration_seconds), the 8 largest | requests "
                + "| mean, ms | seconds in all |\n| --- | ---: | ---: | ---: |\n");
        after.entrySet().stream()
                .map(e -> {
                    double[] b = before.getOrDefault(e.getKey(), new double[2]);
                    return Map.entry(e.getKey(), new double[] {e.getValue()[0] - b[0], e.getValue()[1] - b[1]});
                })
                .filter(e -> e.getValue()[1] > 0)
                .sorted((x, y) -> Double.compare(y.getValue()[0], x.getValue()[0]))
                .limit(8)
                .forEach(e -> out.append(String.format(Locale.ROOT, "| %s %s | %.0f | %.1f | %.1f |%n", e.getKey().get(0),
                        String.join("/", e.getKey().subList(1, 4)).replaceAll("^/|/$", "").replace("//", "/"),
                        e.getValue()[1], 1000 * e.getValue()[0] / e.getValue()[1], e.getValue()[0])));
    }

    /** The operator's /q/metrics: for each series name, the samples by their label text. */
    private Map<String, Map<String, Double>> operatorMetrics() throws IOException, InterruptedException {
        String body = http.send(HttpRequest.newBuilder(options.operatorMetrics()).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Map<String, Map<String, Double>> metrics = new TreeMap<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line.strip());
            if (m.matches()) {
                try {
                    metrics.computeIfAbsent(m.group(1), k -> new TreeMap<>())
                            .put(m.group(3) == null ? "" : m.group(3), Double.parseDouble(m.group(4)));
                } catch (NumberFormatException e) {
                    // NaN and the like: not a count
                }
            }
        }
        return metrics;
    }

    private static Map<String, String> labels(String text) {
        Map<String, String> labels = new LinkedHashMap<>();
        if (text != null) {
            Matcher m = LABEL.matcher(text);
            while (m.find()) {
                labels.put(m.group(1), m.group(2));
            }
        }
        return labels;
    }

    /** Sum of a series' samples whose labels include {@code label=value} (all of them when label is null). */
    private static double sum(Map<String, Map<String, Double>> metrics, String series, String label, String value) {
        return samples(metrics, series, label, value).sum();
    }

    private static double metricMax(Map<String, Map<String, Double>> metrics, String series, String label, String value) {
        return samples(metrics, series, label, value).max().orElse(0);
    }

    /** The values of a series, of every sample or of those whose label has the value. */
    private static java.util.stream.DoubleStream samples(Map<String, Map<String, Double>> metrics, String series,
            String label, String value) {
        return metrics.getOrDefault(series, Map.of()).entrySet().stream()
                .filter(e -> label == null || value.equals(labels(e.getKey()).get(label)))
                .mapToDouble(Map.Entry::getValue);
    }

    /**
     * After the last resource is done, the operator may still be finishing reconciliations the last events started:
     * waits (bounded, 60 s) until its count of started reconciliations has not moved for 2 s, then returns its metrics.
     */
    private Map<String, Map<String, Double>> settle(Map<String, Map<String, Double>> before) throws Exception {
        long bound = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        Map<String, Map<String, Double>> last = operatorMetrics();
        long stableSince = System.nanoTime();
        while (System.nanoTime() < bound) {
            Thread.sleep(250); // a polling interval: nothing here waits for a duration to pass, only for counts to stop
            Map<String, Map<String, Double>> next = operatorMetrics();
            if (sum(next, "operator_sdk_reconciliations_started_total", null, null)
                    != sum(last, "operator_sdk_reconciliations_started_total", null, null)) {
                stableSince = System.nanoTime();
            } else if (System.nanoTime() - stableSince >= Duration.ofSeconds(2).toNanos()) {
                return next;
            }
            last = next;
        }
        return last;
    }

    /** The operator's Events in the bench's namespaces by the kind they are about: {events, count summed}. */
    private Map<String, int[]> operatorEvents(List<String> namespaces) {
        Map<String, int[]> byKind = new TreeMap<>();
        for (String ns : namespaces) {
            for (Event e : client.v1().events().inNamespace(ns).list().getItems()) {
                if (e.getSource() != null && "pollard-operator".equals(e.getSource().getComponent())) {
                    int[] c = byKind.computeIfAbsent(e.getInvolvedObject().getKind(), k -> new int[2]);
                    c[0]++;
                    c[1] += e.getCount() == null ? 1 : e.getCount();
                }
            }
        }
        return byKind;
    }

    // ---- the operator process ---------------------------------------------------------------------------------------

    /** Samples the operator's VmRSS every 100 ms (its peak is VmHWM, which the kernel keeps) and reads its CPU time. */
    static final class ProcSampler {
        private final Path status;
        private final Path stat;
        private final int clockTicks;
        private final AtomicLong maxRss = new AtomicLong();
        private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "rss-sampler");
            t.setDaemon(true);
            return t;
        });

        private final Path proc;
        private final Set<Integer> apiConnections = ConcurrentHashMap.newKeySet();
        private final AtomicInteger apiConnectionsOpen = new AtomicInteger();
        private final AtomicInteger apiConnectionsMax = new AtomicInteger();

        ProcSampler(long pid, int clockTicks) {
            this.proc = Path.of("/proc", Long.toString(pid));
            this.status = proc.resolve("status");
            this.stat = proc.resolve("stat");
            this.clockTicks = clockTicks;
        }

        void start(int apiServerPort) {
            timer.scheduleAtFixedRate(() -> maxRss.accumulateAndGet(rssKb(), Math::max), 0, 100, TimeUnit.MILLISECONDS);
            timer.scheduleAtFixedRate(() -> connections(apiServerPort), 0, 500, TimeUnit.MILLISECONDS);
        }

        /**
         * The process's TCP connections to the API server, from /proc/PID/fd and /proc/PID/net/tcp*: how many are open
         * now, and every local port seen so far (connections opened: a lower bound, as one that opens and closes
         * between two samples is missed).
         */
        private void connections(int apiServerPort) {
            Set<String> sockets = new HashSet<>();
            try (var fds = Files.newDirectoryStream(proc.resolve("fd"))) {
                for (Path fd : fds) {
                    try {
                        String target = Files.readSymbolicLink(fd).toString();
                        if (target.startsWith("socket:[")) {
                            sockets.add(target.substring("socket:[".length(), target.length() - 1));
                        }
                    } catch (IOException e) {
                        // closed meanwhile
                    }
                }
                int open = 0;
                for (String table : List.of("tcp", "tcp6")) {
                    List<String> lines = Files.readAllLines(proc.resolve("net").resolve(table));
                    for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                        String[] f = line.trim().split("\\s+");
                        if (f.length > 9 && sockets.contains(f[9])
                                && Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16) == apiServerPort) {
                            apiConnections.add(Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16));
                            open += "01".equals(f[3]) ? 1 : 0;
                        }
                    }
                }
                apiConnectionsOpen.set(open);
                apiConnectionsMax.accumulateAndGet(open, Math::max);
            } catch (IOException | RuntimeException e) {
                // the process has gone
            }
        }

        void stop() {
            timer.shutdownNow();
        }

        long rssKb() {
            return field("VmRSS:");
        }

        long hwmKb() {
            return field("VmHWM:");
        }

        long maxSampledKb() {
            return maxRss.get();
        }

        private long field(String name) {
            try {
                for (String line : Files.readAllLines(status)) {
                    if (line.startsWith(name)) {
                        return Long.parseLong(line.substring(name.length()).replace("kB", "").strip());
                    }
                }
            } catch (IOException e) {
                return 0; // the process has gone
            }
            return 0;
        }

        /** utime + stime, in seconds. */
        double cpuSeconds() {
            try {
                String text = Files.readString(stat);
                String[] f = text.substring(text.lastIndexOf(')') + 2).split(" ");
                // after the command: state is field 3, utime 14 and stime 15 (1-based, man 5 proc)
                return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) clockTicks;
            } catch (IOException e) {
                return Double.NaN;
            }
        }

        int threads() {
            return (int) field("Threads:");
        }
    }

    /**
     * CPU time over the run: the whole machine's (from /proc/stat) and each named process's (its /proc/PID/stat, this
     * JVM's own included), so the report says how much went to others sharing the machine.
     */
    static final class MachineCpu {
        private final Map<String, Long> processes = new LinkedHashMap<>();
        private final int clockTicks;
        private final long[] machineBefore;
        private final Map<String, Double> before = new LinkedHashMap<>();

        MachineCpu(Map<String, Long> named, int clockTicks) {
            this.processes.putAll(named);
            this.processes.put("bench", ProcessHandle.current().pid());
            this.clockTicks = clockTicks;
            this.machineBefore = machine();
            processes.forEach((name, pid) -> before.put(name, new ProcSampler(pid, clockTicks).cpuSeconds()));
        }

        /** {busy, all} jiffies of every CPU together. */
        private static long[] machine() {
            try {
                String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
                long all = 0;
                for (int i = 1; i < f.length && i <= 8; i++) {
                    all += Long.parseLong(f[i]);
                }
                long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
                return new long[] {all - idle, all};
            } catch (IOException e) {
                return new long[] {0, 0};
            }
        }

        String end() {
            long[] m = machine();
            double busy = (m[0] - machineBefore[0]) / (double) clockTicks;
            double all = (m[1] - machineBefore[1]) / (double) clockTicks;
            StringBuilder line = new StringBuilder();
            double ours = 0;
            for (var e : processes.entrySet()) {
                double used = new ProcSampler(e.getValue(), clockTicks).cpuSeconds() - before.get(e.getKey());
                if (!Double.isNaN(used)) {
                    ours += used;
                    line.append(String.format(Locale.ROOT, "%s %.1f s, ", e.getKey(), used));
                }
            }
            return String.format(Locale.ROOT, "%nCPU over the run: the machine's %d cores were busy %.1f s of %.1f s (%.0f %%): "
                    + "%sothers sharing the machine %.1f s.%n", Runtime.getRuntime().availableProcessors(), busy, all,
                    all > 0 ? 100 * busy / all : 0.0, line, Math.max(0, busy - ours));
        }
    }

    // ---- the report ------------------------------------------------------------------------------------------------

    private record Latency(String what, double[] seconds, int expected) {
        double p(double q) {
            if (seconds.length == 0) {
                return Double.NaN;
            }
            double[] s = seconds.clone();
            Arrays.sort(s);
            return s[Math.max(0, (int) Math.ceil(q * s.length) - 1)];
        }

        double max() {
            return Arrays.stream(seconds).max().orElse(Double.NaN);
        }
    }

    /**
     * Every resource's timestamps, one line each (seconds since {@code originUtc}, the wall clock at the benchmark's
     * origin), so that a tail can be placed in the run and beside the API server's audit log.
     */
    private void writeTimeline(List<String> namespaces) throws IOException {
        List<String> lines = new ArrayList<>(List.of("# origin " + originUtc,
                "resource,pruningjob_added,job_added,job_complete,pruningjob_succeeded,inferencedeployment_added,"
                        + "deployment_added,inferencedeployment_ready"));
        for (int i = 0; i < Math.max(options.count(), options.deployments()); i++) {
            String ns = namespaces.get(i % namespaces.size());
            String pj = ns + "/" + String.format("pj-%05d", i);
            String infd = ns + "/" + String.format("infd-%05d", i);
            lines.add(Stream.of(pjAdded.get(pj), jobAdded.get(pj), jobComplete.get(pj), pjSucceeded.get(pj),
                    infdAdded.get(infd), deploymentAdded.get(infd), infdReady.get(infd))
                    .map(t -> t == null ? "" : String.format(Locale.ROOT, "%.6f", t / 1e9))
                    .collect(Collectors.joining(",", i + ",", "")));
        }
        Files.write(options.out().resolve("timeline.csv"), lines);
    }

    private static double[] between(Map<String, Long> from, Map<String, Long> to) {
        return from.entrySet().stream().filter(e -> to.containsKey(e.getKey()))
                .mapToDouble(e -> (to.get(e.getKey()) - e.getValue()) / 1e9).toArray();
    }

    private static String fmt(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : v >= 10 ? String.format(Locale.ROOT, "%.1f", v)
                : String.format(Locale.ROOT, "%.3f", v);
    }

    /**
     * Who sends requests of this (verb, group, resource, subresource) here, and for which of the operator's kinds: the
     * operator is the only client that writes PruningJob and InferenceDeployment status, Jobs, Deployments and
     * Services and reads Events by name; the bench only creates the PruningJobs and InferenceDeployments (counted
     * apart); the stand-in node writes pod status; controllers and scheduler do the rest. Lists and watches are
     * every informer's (shared) and not counted for anyone.
     */
    static String[] attribution(String verb, String group, String resource, String subresource) {
        boolean listing = verb.equals("LIST") || verb.equals("WATCH");
        String kind = switch (resource) {
            case "pruningjobs", "jobs" -> "PruningJob";
            case "inferencedeployments", "deployments", "services" -> "InferenceDeployment";
            case "compressionpolicies" -> "CompressionPolicy";
            case "hardwareclasses" -> "HardwareClass";
            default -> "";
        };
        if (listing) {
            return new String[] {"informers (every client)", ""};
        }
        if (group.equals("pollard.dev")) {
            if (verb.equals("POST") && subresource.isEmpty()
                    && (resource.equals("pruningjobs") || resource.equals("inferencedeployments"))) {
                return new String[] {"bench", ""};
            }
            return new String[] {"operator", kind};
        }
        if ((group.equals("batch") && resource.equals("jobs") || group.equals("apps") && resource.equals("deployments")
                || group.isEmpty() && resource.equals("services")) && subresource.isEmpty()) {
            return new String[] {"operator", kind};
        }
        if (group.isEmpty() && resource.equals("events")) {
            return verb.equals("GET") ? new String[] {"operator", "(by Events)"}
                    : new String[] {"operator and controllers", "(by Events)"};
        }
        if (group.isEmpty() && resource.equals("pods") && subresource.equals("status") && verb.equals("PATCH")) {
            return new String[] {"stand-in node", ""};
        }
        if (group.isEmpty() && resource.equals("pods") && subresource.equals("binding")) {
            return new String[] {"scheduler", ""};
        }
        return new String[] {"controllers, scheduler, node, set-up", ""};
    }

    private void report(StringBuilder out, List<String> namespaces, long start, long created, long done, long settled,
            Map<List<String>, Double> apiBefore, Map<List<String>, Double> apiAfter,
            Map<String, Map<String, Double>> opBefore, Map<String, Map<String, Double>> opAfter, double cpuBefore,
            double cpuAfter, ProcSampler sampler, long rssEndKb, Map<String, int[]> events) throws IOException {
        int n = options.count();
        int m = options.deployments();
        out.append(String.format(Locale.ROOT, "%n### %d PruningJobs and %d InferenceDeployments in %d namespaces, created at %s"
                + " per second each%n%n", n, m, namespaces.size(), options.rate() > 0 ? fmt(options.rate()) : "full speed"));
        out.append(String.format(Locale.ROOT, "Created in %.1f s (largest delay behind schedule %.3f s, %d create errors); "
                + "all done %.1f s after the first; operator idle %.1f s after that. PruningJobs Succeeded %d, Failed %d; "
                + "InferenceDeployments Ready %d. Resources whose status reported a reconciliation error at some point: %d%s.%n%n",
                (created - start) / 1e9, createLagMax.get() / 1e9, createErrors.get(), (done - start) / 1e9,
                (settled - done) / 1e9, pjSucceeded.size(), pjFailed.size(), infdReady.size(), errors.size(),
                errors.isEmpty() ? "" : " (first: " + errors.values().iterator().next().lines().findFirst().orElse("")
                        .replace("|", "/") + ")"));

        List<Latency> latencies = List.of(
                new Latency("PruningJob created → its Job created", between(pjAdded, jobAdded), n),
                new Latency("Job Complete → PruningJob Succeeded", between(jobComplete, pjSucceeded), n),
                new Latency("InferenceDeployment created → Deployment created", between(infdAdded, deploymentAdded), m),
                new Latency("(context) PruningJob created → Succeeded", between(pjAdded, pjSucceeded), n),
                new Latency("(context) Job created → Job Complete (scheduler, Job controller, node)",
                        between(jobAdded, jobComplete), n),
                new Latency("(context) InferenceDeployment created → Ready", between(infdAdded, infdReady), m));
        out.append("| latency, seconds (client-side, from watch events) | n | p50 | p90 | p99 | max | p99 < 1 s |\n");
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
        for (int i = 0; i < latencies.size(); i++) {
            Latency l = latencies.get(i);
            String target = i >= 3 || l.expected() == 0 ? "" : l.p(0.99) < 1.0 ? "met" : "**missed**";
            out.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s |%n", l.what(), l.seconds().length,
                    fmt(l.p(0.5)), fmt(l.p(0.9)), fmt(l.p(0.99)), fmt(l.max()), target));
        }

        double hwm = sampler.hwmKb() / 1024.0;
        out.append("\n| operator process | value | target |\n| --- | ---: | --- |\n");
        out.append(String.format(Locale.ROOT, "| RSS peak (VmHWM; sampled every 100 ms: %.0f MB) | %.0f MB | < 300 MB: %s |%n",
                sampler.maxSampledKb() / 1024.0, hwm, hwm < 300 ? "met" : "**missed**"));
        out.append(String.format(Locale.ROOT, "| RSS at the end (VmRSS) | %.0f MB | < 300 MB: %s |%n", rssEndKb / 1024.0,
                rssEndKb / 1024.0 < 300 ? "met" : "**missed**"));
        out.append(String.format(Locale.ROOT, "| CPU time during the run (utime + stime) | %.1f s | |%n", cpuAfter - cpuBefore));
        out.append(String.format(Locale.ROOT, "| CPU time since the operator started | %.1f s | |%n", cpuAfter));
        out.append(String.format(Locale.ROOT, "| threads at the end | %d | |%n", sampler.threads()));
        // a heap too small for what the caches hold shows as full collections, each a pause of every thread
        for (String[] gc : new String[][] {{"end of major GC", "full"}, {"end of minor GC", "young"}}) {
            String pause = "jvm_gc_pause_seconds";
            double pauses = sum(opAfter, pause + "_count", "action", gc[0]) - sum(opBefore, pause + "_count", "action", gc[0]);
            double paused = sum(opAfter, pause + "_sum", "action", gc[0]) - sum(opBefore, pause + "_sum", "action", gc[0]);
            out.append(String.format(Locale.ROOT, "| %s collections during the run: count / paused in all / longest pause "
                    + "of the last minutes (Micrometer's rolling max) | %.0f / %.1f s / %.0f ms | |%n", gc[1], pauses, paused,
                    1000 * metricMax(opAfter, pause + "_max", "action", gc[0])));
        }
        out.append(String.format(Locale.ROOT, "| TCP connections to the API server: open at the end / at most at once / "
                + "opened in all (distinct local ports seen, sampled every 0.5 s: a lower bound) | %d / %d / %d | |%n",
                sampler.apiConnectionsOpen.get(), sampler.apiConnectionsMax.get(), sampler.apiConnections.size()));

        // reconciliations
        Map<String, Double> reconciles = new TreeMap<>();
        Map<String, Double> failed = new TreeMap<>();
        for (String kind : List.of("PruningJob", "InferenceDeployment", "HardwareClass", "CompressionPolicy")) {
            reconciles.put(kind, sum(opAfter, "operator_sdk_reconciliations_success_total", "kind", kind)
                    - sum(opBefore, "operator_sdk_reconciliations_success_total", "kind", kind));
            failed.put(kind, sum(opAfter, "operator_sdk_reconciliations_failed_total", "kind", kind)
                    - sum(opBefore, "operator_sdk_reconciliations_failed_total", "kind", kind));
        }

        // API requests
        Map<String, Double> byKind = new TreeMap<>();
        out.append("\n| API requests during the run (apiserver_request_total) | requests | sent by | for |\n");
        out.append("| --- | ---: | --- | --- |\n");
        double total = 0;
        double eventGets = 0;
        for (var e : apiAfter.entrySet()) {
            double d = e.getValue() - apiBefore.getOrDefault(e.getKey(), 0.0);
            if (d <= 0) {
                continue;
            }
            total += d;
            List<String> k = e.getKey();
            String[] who = attribution(k.get(0), k.get(1), k.get(2), k.get(3));
            String resource = (k.get(1).isEmpty() ? "" : k.get(1) + "/") + k.get(2) + (k.get(3).isEmpty() ? "" : "/" + k.get(3));
            out.append(String.format(Locale.ROOT, "| %s %s | %.0f | %s | %s |%n", k.get(0), resource.isEmpty() ? "(non-resource)"
                    : resource, d, who[0], who[1]));
            if (who[0].equals("operator") && !who[1].startsWith("(")) {
                byKind.merge(who[1], d, Double::sum);
            }
            if (who[0].equals("operator") && k.get(2).equals("events")) {
                eventGets += d;
            }
        }
        out.append(String.format(Locale.ROOT, "| all | %.0f | | |%n", total));

        // the operator's Event writes, from the Events themselves: a POST; when the Event exists (409), a GET and a PATCH
        out.append("\n| operator's Events (source pollard-operator) | Events | occurrences | requests (POST, or POST + GET + PATCH) |\n");
        out.append("| --- | ---: | ---: | ---: |\n");
        double eventRequestsGets = 0;
        for (var e : events.entrySet()) {
            int distinct = e.getValue()[0];
            int repeats = e.getValue()[1] - distinct;
            double requests = distinct + 3.0 * repeats;
            eventRequestsGets += repeats;
            byKind.merge(e.getKey(), requests, Double::sum);
            out.append(String.format(Locale.ROOT, "| about %s | %d | %d | %.0f |%n", e.getKey(), distinct, e.getValue()[1],
                    requests));
        }
        out.append(String.format(Locale.ROOT, "%nGET events in the API server's count: %.0f; expected from the Events: %.0f.%n",
                eventGets, eventRequestsGets));

        out.append("\n| kind | reconciliations (success) | failed | operator API requests (writes and reads, no lists/watches) "
                + "| requests per reconciliation |\n| --- | ---: | ---: | ---: | ---: |\n");
        for (String kind : List.of("PruningJob", "InferenceDeployment")) {
            double r = reconciles.get(kind);
            double q = byKind.getOrDefault(kind, 0.0);
            out.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.0f | %s |%n", kind, r, failed.get(kind), q,
                    r > 0 ? String.format(Locale.ROOT, "%.2f", q / r) : "n/a"));
        }
        for (String kind : List.of("HardwareClass", "CompressionPolicy")) {
            if (reconciles.get(kind) > 0 || byKind.getOrDefault(kind, 0.0) > 0) {
                out.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.0f | |%n", kind, reconciles.get(kind),
                        failed.get(kind), byKind.getOrDefault(kind, 0.0)));
            }
        }
        // reconciliation time as JOSDK measures it, when exported
        String timer = "operator_sdk_controllers_execution_reconcile_seconds";
        double count = sum(opAfter, timer + "_count", null, null) - sum(opBefore, timer + "_count", null, null);
        double seconds = sum(opAfter, timer + "_sum", null, null) - sum(opBefore, timer + "_sum", null, null);
        if (count > 0) {
            out.append(String.format(Locale.ROOT, "%nReconciliation time (JOSDK's %s): %.0f reconciliations, mean %.1f ms, "
                    + "%.1f s in all.%n", timer, count, 1000 * seconds / count, seconds));
        }
        Files.writeString(options.out().resolve("operator-metrics-after.txt"), opAfter.toString(),
                StandardCharsets.UTF_8);
    }
}

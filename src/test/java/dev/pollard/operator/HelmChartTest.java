package dev.pollard.operator;

import static dev.pollard.testing.Waits.REACTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.pollard.api.PruningJob;
import dev.pollard.testing.Helm;
import dev.pollard.testing.RealApiServer;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Helm chart (charts/pollard) with the real helm (e2e/build-helm.sh) and the real API server: it lints, its schema
 * refuses bad values with their path, every mode renders objects the server accepts, manifests/ is its default
 * rendering, and in namespace-scoped mode the operator's account can do nothing outside the namespaces it watches.
 */
class HelmChartTest {
    private static final Path MANIFEST = Path.of("manifests", "03-operator.yaml");
    /** Labels that only say Helm rendered an object: absent from manifests/. */
    private static final Set<String> HELM_LABELS = Set.of("helm.sh/chart", "app.kubernetes.io/managed-by");
    /** Plain YAML for people: no document markers of its own, quotes only where YAML needs them. */
    private static final ObjectMapper MANIFEST_YAML = new ObjectMapper(YAMLFactory.builder()
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES).enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).build());
    private static KubernetesClient admin;
    private static Path kubeconfig;

    @BeforeAll
    static void start() throws IOException {
        admin = RealApiServer.adminClient();
        Resources.installCrds(admin);
        kubeconfig = Files.createTempFile("kubeconfig", ".yaml");
        Files.writeString(kubeconfig, RealApiServer.kubeConfigYaml());
    }

    @AfterAll
    static void stop() throws IOException {
        admin.close();
        Files.deleteIfExists(kubeconfig);
    }

    @Test
    void theChartLintsInEveryMode() throws Exception {
        for (List<String> values : List.of(List.<String>of(), List.of("--set", "watchNamespaces={team-a,team-b}",
                "--set", "networkPolicy.enabled=true", "--set", "metrics.serviceMonitor.enabled=true",
                "--set", "metrics.podMonitor.enabled=true", "--set", "replicas=3"))) {
            List<String> args = new ArrayList<>(List.of("lint", Helm.CHART.toString(), "--strict", "--kube-version",
                    RealApiServer.version()));
            args.addAll(values);
            Helm.Result lint = Helm.run(args.toArray(String[]::new));
            assertThat(lint.exitCode()).as("helm %s%n%s%s", args, lint.out(), lint.err()).isZero();
        }
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("replicas=0", "at '/replicas': minimum: got 0, want 1"),
                Arguments.of("image.digest=sha256:abc", "at '/image/digest'"),
                Arguments.of("image.pullPolicy=Sometimes", "at '/image/pullPolicy'"),
                Arguments.of("watchNamespaces={Team_A}", "at '/watchNamespaces/0'"),
                Arguments.of("worker.scratchLimit=lots", "at '/worker/scratchLimit'"),
                Arguments.of("worker.finishedRunTtlSeconds=-1", "at '/worker/finishedRunTtlSeconds'"),
                Arguments.of("leaderElection.enabled=maybe", "at '/leaderElection/enabled'"),
                Arguments.of("metrics.serviceMonitor.interval=often", "at '/metrics/serviceMonitor/interval'"),
                Arguments.of("replica=2", "additional properties 'replica' not allowed"),
                Arguments.of("networkPolicy.enabled=true", "networkPolicy.enabled needs watchNamespaces"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badValues")
    void badValuesAreRefusedNamingTheValue(String value, String message) throws Exception {
        Helm.Result result = Helm.run("template", "pollard", Helm.CHART.toString(), "--kube-version", RealApiServer.version(),
                "--set", value);
        assertThat(result.exitCode()).as("helm template --set %s", value).isNotZero();
        assertThat(result.err()).contains(message);
    }

    static Stream<Arguments> modes() {
        return Stream.of(
                Arguments.of("every namespace", List.of()),
                Arguments.of("watched namespaces", List.of("--set", "watchNamespaces={%1$s-a,%1$s-b}")),
                Arguments.of("watched namespaces with monitors and network policies", List.of(
                        "--set", "watchNamespaces={%1$s-a}", "--set", "networkPolicy.enabled=true",
                        "--set", "networkPolicy.serving.from[0].podSelector.matchLabels.role=gateway",
                        "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.podMonitor.enabled=true")),
                Arguments.of("three replicas, image by digest", List.of("--set", "replicas=3",
                        "--set", "image.digest=sha256:" + "a".repeat(64))),
                Arguments.of("no leader election", List.of("--set", "leaderElection.enabled=false")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void everyModeRendersObjectsTheApiServerAccepts(String mode, List<String> values) throws Exception {
        String prefix = "helm-" + Integer.toHexString(mode.hashCode()).substring(0, 4);
        String release = RealApiServer.newNamespace(admin, prefix + "-sys");
        List<String> args = values.stream().map(v -> String.format(v, prefix)).toList();
        for (String arg : args) {
            if (arg.startsWith("watchNamespaces=")) {
                for (String ns : arg.substring("watchNamespaces={".length(), arg.length() - 1).split(",")) {
                    ensureNamespace(ns);
                }
            }
        }
        if (args.stream().anyMatch(a -> a.startsWith("metrics."))) {
            installMonitoringCrds();
        }
        Path rendered = Files.createTempFile("chart", ".yaml");
        Files.writeString(rendered, Helm.template(release, args.toArray(String[]::new)));
        String out = kubectl("apply", "--dry-run=server", "-f", rendered.toString());
        assertThat(out).contains("deployment.apps/pollard-operator created (server dry run)");
        if (mode.startsWith("no leader")) {
            assertThat(Files.readString(rendered)).contains("type: Recreate").doesNotContain("coordination.k8s.io");
        } else {
            assertThat(Files.readString(rendered)).contains("type: RollingUpdate").contains("coordination.k8s.io");
        }
        Files.delete(rendered);
    }

    /**
     * manifests/03-operator.yaml is the chart rendered with its defaults as release "pollard" in pollard-system, without
     * the labels that only say Helm did it. Regenerate: mvn test -Dtest=HelmChartTest -Dpollard.updateManifests=true
     */
    @Test
    void manifestsAreTheChartsDefaultRendering() throws Exception {
        List<JsonNode> rendered = new ArrayList<>();
        for (JsonNode object : documents(Helm.template("pollard-system"))) {
            for (JsonNode labels : object.findValues("labels")) {
                HELM_LABELS.forEach(((ObjectNode) labels)::remove);
            }
            rendered.add(object);
        }
        StringBuilder yaml = new StringBuilder("# Generated from charts/pollard: helm template pollard charts/pollard -n "
                + "pollard-system, without Helm's own labels.\n# Regenerate: mvn test -Dtest=HelmChartTest "
                + "-Dpollard.updateManifests=true\n");
        for (JsonNode object : rendered) {
            yaml.append("---\n").append(MANIFEST_YAML.writeValueAsString(object));
        }
        if (Boolean.getBoolean("pollard.updateManifests")) {
            Files.writeString(MANIFEST, yaml);
        }
        assertThat(documents(Files.readString(MANIFEST))).as("%s differs from the chart's rendering; regenerate with "
                + "mvn test -Dtest=HelmChartTest -Dpollard.updateManifests=true", MANIFEST).isEqualTo(rendered);
    }

    @Test
    void aNamespaceScopedOperatorCanDoNothingOutsideTheNamespacesItWatches() throws Exception {
        String release = RealApiServer.newNamespace(admin, "scoped-sys");
        String watched = RealApiServer.newNamespace(admin, "scoped-team");
        String other = RealApiServer.newNamespace(admin, "scoped-other");
        Path rendered = Files.createTempFile("chart", ".yaml");
        Files.writeString(rendered, Helm.template(release, "--set", "watchNamespaces={" + watched + "}"));
        kubectl("apply", "--server-side", "-f", rendered.toString());
        String account = "system:serviceaccount:" + release + ":pollard-operator";

        assertThat(canI(account, "list", "pods", "-n", watched)).isTrue();
        assertThat(canI(account, "create", "pruningjobs.pollard.dev", "-n", watched)).isTrue();
        assertThat(canI(account, "list", "pods", "-n", other)).isFalse();
        assertThat(canI(account, "list", "pruningjobs.pollard.dev", "-n", other)).isFalse();
        assertThat(canI(account, "list", "pods", "--all-namespaces")).isFalse();
        assertThat(canI(account, "get", "secrets", "-n", watched)).isFalse();
        assertThat(canI(account, "list", "hardwareclasses.pollard.dev")).isTrue(); // cluster-scoped: needed in every mode
        assertThat(canI(account, "update", "leases.coordination.k8s.io", "-n", release)).isTrue();

        // the reconcilers, as that account and told to watch that namespace: a PruningJob elsewhere is left alone
        Config config = Config.fromKubeconfig(RealApiServer.kubeConfigYaml());
        config.setImpersonateUsername(account);
        config.setImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:" + release, "system:authenticated");
        try (KubernetesClient asOperator = new KubernetesClientBuilder().withConfig(config).build()) {
            Operator operator = new Operator(o -> o.withKubernetesClient(asOperator).withCloseClientOnStop(false));
            operator.register(new PruningJobReconciler(OperatorSettings.fromEnvironment(), new SimpleMeterRegistry()),
                    c -> c.settingNamespaces(Set.of(watched)));
            operator.start();
            try {
                PruningJob inside = createPruningJob(watched);
                PruningJob outside = createPruningJob(other);
                await().atMost(REACTION).untilAsserted(() -> assertThat(status(inside)).isNotNull());
                assertThat(status(outside)).isNull();
            } finally {
                operator.stop();
            }
        }
        Files.delete(rendered);
    }

    private static PruningJob createPruningJob(String namespace) {
        PruningJob pj = admin.getKubernetesSerialization().convertValue(Resources.readYaml("examples/pruningjob.yaml"),
                PruningJob.class);
        pj.getMetadata().setNamespace(namespace);
        pj.getSpec().hardwareClass = "absent-class";
        return admin.resource(pj).create();
    }

    private static Object status(PruningJob pj) {
        return admin.resources(PruningJob.class).inNamespace(pj.getMetadata().getNamespace())
                .withName(pj.getMetadata().getName()).get().getStatus();
    }

    private static boolean canI(String account, String... question) throws Exception {
        List<String> args = new ArrayList<>(List.of("auth", "can-i"));
        args.addAll(List.of(question));
        args.addAll(List.of("--as", account));
        Process kubectl = kubectlProcess(args);
        List<String> lines = new String(kubectl.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip().lines().toList();
        assertThat(kubectl.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String answer = lines.get(lines.size() - 1); // after any warning kubectl prints
        assertThat(answer).as("%s", lines).isIn("yes", "no");
        return answer.equals("yes");
    }

    private static String kubectl(String... args) throws Exception {
        Process kubectl = kubectlProcess(List.of(args));
        String out = new String(kubectl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(kubectl.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(kubectl.exitValue()).as("kubectl %s:%n%s", String.join(" ", args), out).isZero();
        return out;
    }

    private static Process kubectlProcess(List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(RealApiServer.binaryDir().resolve("kubectl").toString(),
                "--kubeconfig", kubeconfig.toString()));
        command.addAll(args);
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    private static void ensureNamespace(String name) {
        admin.resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata().withName(name).endMetadata()
                .build()).serverSideApply();
    }

    /** The Prometheus Operator's ServiceMonitor and PodMonitor CRDs, as e2e/fetch-monitoring-crds.sh caches them. */
    private static void installMonitoringCrds() throws Exception {
        Path dir = RealApiServer.binaryRoot().resolve("prometheus-operator-crds").resolve("0.85.0");
        for (String kind : List.of("servicemonitors", "podmonitors")) {
            Path crd = dir.resolve(kind + ".yaml");
            assertThat(crd).as("run e2e/fetch-monitoring-crds.sh").exists();
            kubectl("apply", "--server-side", "--force-conflicts", "-f", crd.toString());
            kubectl("wait", "--for=condition=Established", "--timeout=120s", "crd/" + kind + ".monitoring.coreos.com");
        }
    }

    private static List<JsonNode> documents(String yaml) throws IOException {
        List<JsonNode> documents = new ArrayList<>();
        try (var parser = Resources.YAML.readerFor(JsonNode.class).<JsonNode>readValues(yaml)) {
            while (parser.hasNext()) {
                JsonNode document = parser.next();
                if (document != null && !document.isNull() && !document.isEmpty()) {
                    documents.add(document);
                }
            }
        }
        return documents;
    }
}

package dev.pollard.operator;

import static dev.pollard.testing.Waits.REACTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pollard.api.CompressionPolicy;
import dev.pollard.api.CompressionPolicySpec;
import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.PruningJob;
import dev.pollard.testing.RealApiServer;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Applies manifests/ to a real kube-apiserver, in file order, the way a cluster admin installs Pollard. */
class InstallManifestsTest {
    private static final String SERVICE_ACCOUNT = "system:serviceaccount:pollard-system:pollard-operator";
    private static KubernetesClient admin;
    private static List<HasMetadata> installed;

    @BeforeAll
    static void install() throws IOException {
        admin = RealApiServer.adminClient();
        Resources.installCrds(admin); // shared server: other tests may have installed them already
        try (var files = Files.list(Path.of("manifests"))) {
            installed = files.sorted().flatMap(f -> load(f).stream())
                    .map(r -> admin.resource(r).fieldManager("pollard-install").forceConflicts().serverSideApply())
                    .toList();
        }
    }

    @AfterAll
    static void close() {
        admin.close();
    }

    private static List<HasMetadata> load(Path file) {
        try {
            return admin.load(Files.newInputStream(file)).items();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void everyManifestIsAccepted() {
        assertThat(installed).extracting(HasMetadata::getKind).contains("Namespace", "CustomResourceDefinition",
                "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment");
        Deployment deployment = admin.apps().deployments().inNamespace("pollard-system").withName("pollard-operator").get();
        var container = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");
        assertThat(container.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/q/health/live");
        assertThat(container.getResources().getRequests()).containsKeys("cpu", "memory");
    }

    @Test
    void clusterRoleHasNoWildcards() {
        ClusterRole role = admin.rbac().clusterRoles().withName("pollard-operator").get();
        assertThat(role.getRules()).isNotEmpty().allSatisfy(rule -> {
            assertThat(rule.getVerbs()).doesNotContain("*");
            assertThat(rule.getResources()).doesNotContain("*");
            assertThat(rule.getApiGroups()).doesNotContain("*");
            assertThat(rule.getResources()).doesNotContain("secrets");
        });
    }

    @Test
    void operatorPodMeetsTheRestrictedPodSecurityStandard() {
        Deployment deployment = admin.apps().deployments().inNamespace("pollard-system").withName("pollard-operator").get();
        Pod pod = new PodBuilder().withNewMetadata().withName("psa-check").withNamespace("pollard-system").endMetadata()
                .withSpec(deployment.getSpec().getTemplate().getSpec()).build();
        // the namespace enforces "restricted": the API server's PodSecurity admission decides, in a dry run
        admin.pods().inNamespace("pollard-system").resource(pod).dryRun().create();

        // and the check can fail: the same pod running as root is refused
        Pod root = new PodBuilder(pod).editSpec().editSecurityContext().withRunAsNonRoot(false).withRunAsUser(0L)
                .endSecurityContext().endSpec().build();
        assertThatThrownBy(() -> admin.pods().inNamespace("pollard-system").resource(root).dryRun().create())
                .isInstanceOf(KubernetesClientException.class).hasMessageContaining("restricted");
    }

    @Test
    void operatorWorksWithOnlyItsServiceAccountsPermissions() {
        Config config = Config.fromKubeconfig(RealApiServer.kubeConfigYaml());
        config.setImpersonateUsername(SERVICE_ACCOUNT);
        config.setImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:pollard-system", "system:authenticated");
        try (KubernetesClient asOperator = new KubernetesClientBuilder().withConfig(config).build()) {
            assertThatThrownBy(() -> asOperator.secrets().inAnyNamespace().list())
                    .isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");
            assertThatThrownBy(() -> asOperator.nodes().list())
                    .isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");

            Operator operator = new Operator(o -> o.withKubernetesClient(asOperator).withCloseClientOnStop(false));
            OperatorSettings settings = OperatorSettings.fromEnvironment();
            operator.register(new PruningJobReconciler(settings, new SimpleMeterRegistry()));
            operator.register(new InferenceDeploymentReconciler(settings));
            operator.register(new CompressionPolicyReconciler(OperatorSettings.fromEnvironment()));
            operator.register(new HardwareClassReconciler());
            operator.start();
            try {
                String namespace = RealApiServer.newNamespace(admin, "rbac");
                PruningJob job = admin.getKubernetesSerialization()
                        .convertValue(Resources.readYaml("examples/pruningjob.yaml"), PruningJob.class);
                job.getMetadata().setNamespace(namespace);
                job.getSpec().hardwareClass = "absent-" + UUID.randomUUID().toString().substring(0, 8);
                admin.resource(job).create();
                await().atMost(REACTION).untilAsserted(() -> {
                    PruningJob seen = admin.resources(PruningJob.class).inNamespace(namespace).withName("fashion-cnn").get();
                    assertThat(seen.getStatus()).isNotNull();
                    assertThat(seen.getStatus().conditions.get(0).getReason())
                            .isEqualTo(Reason.HardwareClassNotFound.name());
                    assertThat(admin.v1().events().inNamespace(namespace).list().getItems()).isNotEmpty();
                });
                assertThat(asOperator.resources(HardwareClass.class).list().getItems()).isNotNull();

                InferenceDeployment infd = admin.getKubernetesSerialization()
                        .convertValue(Resources.readYaml("examples/inferencedeployment.yaml"), InferenceDeployment.class);
                infd.getMetadata().setNamespace(namespace);
                infd.getSpec().hardwareClass = null;
                admin.resource(infd).create();
                await().atMost(REACTION).untilAsserted(() -> {
                    assertThat(admin.apps().deployments().inNamespace(namespace).withName("fashion-cnn").get()).isNotNull();
                    assertThat(admin.services().inNamespace(namespace).withName("fashion-cnn").get()).isNotNull();
                    InferenceDeployment seen = admin.resources(InferenceDeployment.class).inNamespace(namespace)
                            .withName("fashion-cnn").get();
                    assertThat(seen.getStatus()).as("status written").isNotNull();
                    assertThat(seen.getStatus().conditions.get(0).getReason())
                            .isEqualTo(Reason.RollingOut.name());
                });

                // a CompressionPolicy generates a PruningJob for the labelled deployment
                CompressionPolicy policy = admin.getKubernetesSerialization()
                        .convertValue(Resources.readYaml("examples/compressionpolicy.yaml"), CompressionPolicy.class);
                policy.getMetadata().setNamespace(namespace);
                policy.getSpec().hardwareClasses = new CompressionPolicySpec.HardwareClasses();
                policy.getSpec().hardwareClasses.names = List.of(job.getSpec().hardwareClass);
                admin.resource(policy).create();
                await().atMost(REACTION).untilAsserted(() -> {
                    assertThat(admin.resources(PruningJob.class).inNamespace(namespace)
                            .withLabel("pollard.dev/policy", "fashion-models").list().getItems()).singleElement()
                            .satisfies(pj -> assertThat(pj.getMetadata().getOwnerReferences().get(0).getKind())
                                    .isEqualTo("CompressionPolicy"));
                    CompressionPolicy seen = admin.resources(CompressionPolicy.class).inNamespace(namespace)
                            .withName("fashion-models").get();
                    assertThat(seen.getStatus()).as("status written").isNotNull();
                    assertThat(seen.getStatus().counts.matched).isEqualTo(1);
                });
            } finally {
                operator.stop();
            }
        }
    }

    @Test
    void aNamespaceEditorDeclaresWorkButCannotWriteStatusOrHardwareClasses() {
        assertThat(admin.rbac().clusterRoles().withName("pollard-operator-edit").get().getMetadata().getLabels())
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-edit", "true")
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-admin", "true");
        assertThat(admin.rbac().clusterRoles().withName("pollard-operator-view").get().getMetadata().getLabels())
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-view", "true");
        String namespace = RealApiServer.newNamespace(admin, "tenant");
        String elsewhere = RealApiServer.newNamespace(admin, "tenant-other");
        // what the built-in edit role aggregates, bound directly (this tier runs no aggregation controller)
        admin.resource(new io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder().withNewMetadata().withName("alice")
                .withNamespace(namespace).endMetadata().withNewRoleRef().withApiGroup("rbac.authorization.k8s.io")
                .withKind("ClusterRole").withName("pollard-operator-edit").endRoleRef().addNewSubject()
                .withApiGroup("rbac.authorization.k8s.io").withKind("User").withName("alice").endSubject().build()).create();
        Config config = Config.fromKubeconfig(RealApiServer.kubeConfigYaml());
        config.setImpersonateUsername("alice");
        config.setImpersonateGroups("system:authenticated");
        try (KubernetesClient alice = new KubernetesClientBuilder().withConfig(config).build()) {
            PruningJob job = admin.getKubernetesSerialization()
                    .convertValue(Resources.readYaml("examples/pruningjob.yaml"), PruningJob.class);
            job.getMetadata().setNamespace(namespace);
            await().atMost(REACTION).ignoreExceptions().until(() -> alice.resource(job).create() != null); // RBAC cache

            // a forged result in status is what an InferenceDeployment would serve: only the operator writes it
            assertThatThrownBy(() -> alice.resources(PruningJob.class).inNamespace(namespace).withName("fashion-cnn")
                    .editStatus(pj -> {
                        pj.setStatus(new dev.pollard.api.PruningJobStatus());
                        pj.getStatus().phase = dev.pollard.api.PruningJobStatus.Phase.SUCCEEDED;
                        return pj;
                    })).isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");
            HardwareClass hwc = admin.getKubernetesSerialization()
                    .convertValue(Resources.readYaml("examples/hardwareclass-h100.yaml"), HardwareClass.class);
            hwc.getMetadata().setName("alice-" + UUID.randomUUID().toString().substring(0, 8));
            assertThatThrownBy(() -> alice.resource(hwc).create())
                    .isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");
            job.getMetadata().setNamespace(elsewhere);
            assertThatThrownBy(() -> alice.resource(job).create())
                    .isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");
        }
    }
}

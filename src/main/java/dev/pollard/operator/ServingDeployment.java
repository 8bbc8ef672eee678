package dev.pollard.operator;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pollard.api.HardwareClass;
import dev.pollard.api.HardwareClassSpec;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentSpec;
import dev.pollard.api.InferenceDeploymentStatus;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.Matcher;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The Deployment that serves an InferenceDeployment's model with {@code pollard serve}. */
@KubernetesDependent(informer = @Informer(labelSelector = ServingDeployment.INFORMER_SELECTOR,
        itemStore = TrimmedCache.class))
public class ServingDeployment extends CRUDKubernetesDependentResource<Deployment, InferenceDeployment> {
    static final String COMPONENT = "serving";
    /** Only what the operator made is cached: not every Deployment and Service of the cluster. */
    static final String INFORMER_SELECTOR = Labels.COMPONENT + "=" + COMPONENT + "," + Labels.MANAGED_BY + "=" + Labels.OPERATOR;
    static final String MODEL_SHA_ANNOTATION = "pollard.dev/model-sha256";
    static final int DEFAULT_PORT = 8080;

    public ServingDeployment() {
        super(Deployment.class);
    }

    @Override
    protected Deployment desired(InferenceDeployment infd, Context<InferenceDeployment> context) {
        HardwareClassSpec hardware = context.getSecondaryResource(HardwareClass.class).map(HardwareClass::getSpec).orElse(null);
        var decided = context.managedWorkflowAndDependentResourceContext();
        return render(infd, decided.getMandatory(InferenceDeploymentStatus.Model.class, InferenceDeploymentStatus.Model.class),
                hardware, decided.getMandatory(OperatorSettings.class, OperatorSettings.class));
    }

    /**
     * Whether the Deployment holds everything the operator sets, with the same values; what the API server and other
     * controllers add (defaults, status, their own labels) does not count. JOSDK's server-side-apply matcher answers
     * the same from the operator's managedFields entry, but that entry is a map per field: kept for a thousand
     * Deployments it was most of the operator's heap (docs/results.md, "Operator at scale"), and the cache now keeps
     * no managedFields at all.
     */
    @Override
    public Matcher.Result<Deployment> match(Deployment actual, Deployment desired, InferenceDeployment primary,
            Context<InferenceDeployment> context) {
        var json = context.getClient().getKubernetesSerialization();
        return Matcher.Result.computed(holds(json.convertValue(actual, JsonNode.class), json.convertValue(desired, JsonNode.class)),
                desired);
    }

    static boolean holds(JsonNode actual, JsonNode desired) {
        JsonNode metadata = desired.path("metadata");
        return contains(actual.path("metadata").path("labels"), metadata.path("labels"))
                && contains(actual.path("metadata").path("annotations"), metadata.path("annotations"))
                && contains(actual.path("spec"), desired.path("spec"));
    }

    /**
     * Every field of {@code wanted} is in {@code node} with a value that contains it; a list contains a list of the same
     * length whose elements each contain the wanted one's (a removed argument is a change, a defaulted field in an
     * element is not).
     */
    private static boolean contains(JsonNode node, JsonNode wanted) {
        if (wanted.isMissingNode()) {
            return true;
        }
        if (wanted.isObject()) {
            if (!node.isObject()) {
                return false;
            }
            for (var fields = wanted.fields(); fields.hasNext(); ) {
                var field = fields.next();
                if (!contains(node.path(field.getKey()), field.getValue())) {
                    return false;
                }
            }
            return true;
        }
        if (wanted.isArray()) {
            if (!node.isArray() || node.size() != wanted.size()) {
                return false;
            }
            for (int i = 0; i < wanted.size(); i++) {
                if (!contains(node.get(i), wanted.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return wanted.equals(node);
    }

    /** @param served the model the reconciler decided to serve: the source, or a pruned result of it */
    static Deployment render(InferenceDeployment infd, InferenceDeploymentStatus.Model served, HardwareClassSpec hardware,
            OperatorSettings settings) {
        InferenceDeploymentSpec spec = infd.getSpec();
        InferenceDeploymentSpec.Runtime runtime = spec.runtime != null ? spec.runtime : new InferenceDeploymentSpec.Runtime();
        int port = runtime.port != null ? runtime.port : DEFAULT_PORT;
        boolean source = InferenceDeploymentStatus.ORIGIN_SOURCE.equals(served.origin);
        // a pruned result lies where its run wrote it; only the source needs the spec's credentials
        StorageLocation model = StorageLocation.of("model", source ? "spec.model.uri" : "status.servedModel.uri", served.uri,
                source ? spec.model.secretRef : null, false);

        List<String> args = new ArrayList<>(List.of("serve", "--model", model.argument(), "--name", servedName(infd),
                "--sha256", served.sha256, "--host", "$(POD_IP)", "--port", Integer.toString(port)));
        if (runtime.threads != null) {
            args.addAll(List.of("--threads", runtime.threads.toString()));
        }
        if (spec.hardwareClass != null) {
            args.addAll(List.of("--hardware-class", spec.hardwareClass)); // a label of the server's metric series
        }
        if (hardware != null && hardware.meter == HardwareClassSpec.Meter.NVML) {
            args.addAll(List.of("--meter", "nvml")); // the GPU's joules, and its UUID on the series
        }
        List<EnvVar> env = new ArrayList<>();
        env.add(DownwardApi.env("POD_IP", "status.podIP"));
        // the server labels its series with its pod, as Kepler labels its own
        env.add(DownwardApi.env("POD_NAMESPACE", "metadata.namespace"));
        env.add(DownwardApi.env("POD_NAME", "metadata.name"));
        env.addAll(model.env());
        List<Volume> volumes = new ArrayList<>();
        List<VolumeMount> mounts = new ArrayList<>();
        model.volume().ifPresent(volumes::add);
        model.mount().ifPresent(mounts::add);
        volumes.add(new VolumeBuilder().withName("tmp").withNewEmptyDir().endEmptyDir().build());
        mounts.add(new VolumeMountBuilder().withName("tmp").withMountPath("/tmp").build());

        var container = new ContainerBuilder().withName("server")
                .withImage(runtime.image != null ? runtime.image : settings.workerImage())
                .withArgs(args).withEnv(env)
                .addNewPort().withName("http").withContainerPort(port).endPort()
                .withNewReadinessProbe().withNewHttpGet().withPath("/v2/health/ready").withPort(new IntOrString("http"))
                .endHttpGet().withPeriodSeconds(5).endReadinessProbe()
                .withNewLivenessProbe().withNewHttpGet().withPath("/v2/health/live").withPort(new IntOrString("http"))
                .endHttpGet().withInitialDelaySeconds(10).withPeriodSeconds(20).endLivenessProbe()
                .withResources(resources(runtime.resources, hardware))
                .withVolumeMounts(mounts)
                .withSecurityContext(PodSecurity.container())
                .build();
        var pod = new PodSpecBuilder().withSecurityContext(PodSecurity.pod()).withContainers(container).withVolumes(volumes)
                .withAutomountServiceAccountToken(false);
        if (hardware != null) {
            pod.withNodeSelector(nodeSelector(hardware)).withTolerations(hardware.tolerations)
                    .withRuntimeClassName(hardware.runtimeClassName);
        }
        Map<String, String> labels = Labels.all(infd, COMPONENT);
        return new DeploymentBuilder()
                .withNewMetadata().withName(infd.getMetadata().getName()).withNamespace(infd.getMetadata().getNamespace())
                .withLabels(labels).endMetadata()
                .withNewSpec().withReplicas(spec.replicas != null ? spec.replicas : 1)
                .withNewSelector().withMatchLabels(Labels.selector(infd, COMPONENT)).endSelector()
                // a new model must be ready before an old pod goes: a broken model never takes the service down
                .withNewStrategy().withType("RollingUpdate").withNewRollingUpdate()
                .withMaxUnavailable(new IntOrString(0)).withMaxSurge(new IntOrString(1)).endRollingUpdate().endStrategy()
                .withNewTemplate().withNewMetadata().withLabels(labels)
                .withAnnotations(Map.of(MODEL_SHA_ANNOTATION, served.sha256)).endMetadata()
                .withSpec(pod.build()).endTemplate()
                .endSpec().build();
    }

    static String servedName(InferenceDeployment infd) {
        return infd.getSpec().model.name != null ? infd.getSpec().model.name : infd.getMetadata().getName();
    }

    /** Node labels a pod of this class needs: the class's selector plus the GPU product label. */
    static Map<String, String> nodeSelector(HardwareClassSpec hardware) {
        Map<String, String> selector = new HashMap<>();
        if (hardware.nodeSelector != null) {
            selector.putAll(hardware.nodeSelector);
        }
        if (hardware.gpu != null) {
            selector.put("nvidia.com/gpu.product", hardware.gpu.product);
        }
        return selector;
    }

    /** The container's requests and limits, plus the class's GPUs (extended resources go in limits). */
    static ResourceRequirements resources(ResourceRequirements requested, HardwareClassSpec hardware) {
        var builder = requested != null ? new ResourceRequirementsBuilder(requested) : new ResourceRequirementsBuilder();
        if (hardware != null && hardware.gpu != null) {
            String name = hardware.gpu.resourceName != null ? hardware.gpu.resourceName : "nvidia.com/gpu";
            int count = hardware.gpu.count != null ? hardware.gpu.count : 1;
            builder.addToLimits(name, new Quantity(Integer.toString(count)));
        }
        return builder.build();
    }
}

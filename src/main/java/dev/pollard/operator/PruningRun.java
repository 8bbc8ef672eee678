package dev.pollard.operator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.api.HardwareClass;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobSpec;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One pruning run of a PruningJob on a HardwareClass: the batch/v1 Job that runs {@code pollard prune}. */
final class PruningRun {
    static final String COMPONENT = "pruning";
    static final String JOB_LABEL = "pollard.dev/pruningjob";
    /** The UID, not the name: a class deleted and created again is another class, with its own runs and slots. */
    static final String HARDWARE_CLASS_UID_LABEL = "pollard.dev/hardwareclass-uid";
    static final String GENERATION_ANNOTATION = "pollard.dev/pruningjob-generation";
    static final String HARDWARE_GENERATION_ANNOTATION = "pollard.dev/hardwareclass-generation";
    static final int PROGRESS_PORT = 8081;
    /** The worker's exit code for input that will not get better by retrying (bad model, dataset or spec). */
    static final int EXIT_INVALID_INPUT = 2;
    /** Exit code when the HardwareClass's meter cannot be used on the node. */
    static final int EXIT_METER_UNAVAILABLE = 3;
    /** The schema's default of spec.runDeadlineSeconds, for objects that did not come through the API server. */
    static final long DEFAULT_DEADLINE_SECONDS = 21600;
    /** The schema's default of a HardwareClass's spec.maxConcurrentRuns. */
    static final int DEFAULT_MAX_CONCURRENT_RUNS = 4;
    private static final ObjectMapper JSON = new ObjectMapper();

    private PruningRun() {
    }

    /**
     * A name that is the same for the same (job generation, hardware class, class generation), so a restarted operator
     * finds the Job it created instead of creating another. Both UIDs are in it: a PruningJob or class deleted and
     * created again under the same name never inherits the old one's result.
     */
    static String jobName(PruningJob pj, HardwareClass hwc) {
        return Hashes.name(pj.getMetadata().getName(), pj.getMetadata().getUid() + "/" + pj.getMetadata().getGeneration()
                + "/" + hwc.getMetadata().getName() + "/" + hwc.getMetadata().getUid() + "/" + hwc.getMetadata().getGeneration());
    }

    static int maxConcurrentRuns(HardwareClass hwc) {
        Integer max = hwc.getSpec().maxConcurrentRuns;
        return max == null ? DEFAULT_MAX_CONCURRENT_RUNS : max;
    }

    /** Where a run's model.onnx, report.json and summary.txt go: a directory named after its Job under spec.output.uri. */
    static String runUri(PruningJob pj, HardwareClass hwc) {
        return pj.getSpec().output.uri.replaceAll("/+$", "") + "/" + jobName(pj, hwc);
    }

    static Job render(PruningJob pj, HardwareClass hwc, OperatorSettings settings) {
        PruningJobSpec spec = pj.getSpec();
        StorageLocation model = StorageLocation.of("model", "spec.model.uri", spec.model.uri, spec.model.secretRef, false);
        StorageLocation dataset = StorageLocation.of("dataset", "spec.dataset.uri", spec.dataset.uri, spec.dataset.secretRef, false);
        StorageLocation output = StorageLocation.of("output", "spec.output.uri", spec.output.uri, null, true);

        List<String> args = new ArrayList<>(List.of("prune",
                "--model", model.argument(), "--model-uri", spec.model.uri,
                "--dataset", dataset.argument(), "--dataset-format", spec.dataset.format.name().toLowerCase(),
                "--epsilon", spec.accuracy.epsilon.toString(),
                "--hardware", hwc.getMetadata().getName(),
                "--meter", hwc.getSpec().meter == null ? "analytical" : hwc.getSpec().meter.name().toLowerCase(),
                // each run writes into its own directory, so a new run never overwrites the model being served
                "--out", output.argument().replaceAll("/+$", "") + "/" + jobName(pj, hwc),
                "--artifact-uri", runUri(pj, hwc),
                "--progress-address", "$(POD_IP):" + PROGRESS_PORT));
        if (spec.energyBudget.targetReduction != null) {
            args.addAll(List.of("--target-reduction", spec.energyBudget.targetReduction.toString()));
        } else {
            args.addAll(List.of("--max-joules", spec.energyBudget.maxJoulesPerInference.toString()));
        }
        add(args, "--model-sha256", spec.model.sha256);
        if (spec.serving != null) {
            add(args, "--serving-batch", spec.serving.batchSize);
            add(args, "--sequence-length", spec.serving.sequenceLength);
        }
        strategyArguments(spec.strategy, args);
        if (spec.dataset.evaluationSamples != null) {
            args.addAll(List.of("--eval-samples", spec.dataset.evaluationSamples.toString()));
        }
        if (spec.dataset.trainingSamples != null) {
            args.addAll(List.of("--train-samples", spec.dataset.trainingSamples.toString()));
        }

        List<EnvVar> env = new ArrayList<>();
        env.add(DownwardApi.env("POD_IP", "status.podIP"));
        env.add(DownwardApi.env("NODE_NAME", "spec.nodeName"));
        // the worker needs the class's energy model; JSON in one variable, never spliced into a shell line
        env.add(new EnvVarBuilder().withName("POLLARD_HARDWARE_CLASS").withValue(toJson(hwc.getSpec())).build());
        env.addAll(model.env());
        env.addAll(dataset.env());
        env.addAll(output.env());

        List<Volume> volumes = new ArrayList<>();
        List<VolumeMount> mounts = new ArrayList<>();
        for (StorageLocation location : List.of(model, dataset, output)) {
            location.volume().filter(v -> volumes.stream().noneMatch(existing -> existing.getName().equals(v.getName())))
                    .ifPresent(volumes::add);
            location.mount().ifPresent(mounts::add);
        }
        volumes.add(new VolumeBuilder().withName("tmp").withNewEmptyDir().withSizeLimit(settings.scratchLimit()).endEmptyDir()
                .build());
        mounts.add(new VolumeMountBuilder().withName("tmp").withMountPath("/tmp").build());

        var container = new ContainerBuilder().withName("worker").withImage(settings.workerImage()).withArgs(args).withEnv(env)
                .addNewPort().withName("progress").withContainerPort(PROGRESS_PORT).endPort()
                .withResources(ServingDeployment.resources(workerResources(spec, hwc, settings), hwc.getSpec()))
                .withVolumeMounts(mounts)
                .withSecurityContext(PodSecurity.container())
                .withTerminationMessagePath("/dev/termination-log")
                .withTerminationMessagePolicy("FallbackToLogsOnError")
                .build();
        var pod = new PodSpecBuilder().withRestartPolicy("Never").withSecurityContext(PodSecurity.pod())
                .withAutomountServiceAccountToken(false).withContainers(container).withVolumes(volumes)
                .withNodeSelector(ServingDeployment.nodeSelector(hwc.getSpec())).withTolerations(hwc.getSpec().tolerations)
                .withRuntimeClassName(hwc.getSpec().runtimeClassName).build();

        Map<String, String> labels = new LinkedHashMap<>(Labels.all(pj, COMPONENT));
        labels.put(JOB_LABEL, pj.getMetadata().getName());
        labels.put(HARDWARE_CLASS_UID_LABEL, hwc.getMetadata().getUid());
        Map<String, String> annotations = Map.of(
                GENERATION_ANNOTATION, pj.getMetadata().getGeneration().toString(),
                HARDWARE_GENERATION_ANNOTATION, hwc.getMetadata().getGeneration().toString());
        return new JobBuilder()
                .withNewMetadata().withName(jobName(pj, hwc)).withNamespace(pj.getMetadata().getNamespace())
                .withLabels(labels).withAnnotations(annotations).endMetadata()
                .withNewSpec()
                .withBackoffLimit(2)
                // a hung worker must not hold a GPU for good; a finished Job goes after a while (its result is in status)
                .withActiveDeadlineSeconds(spec.runDeadlineSeconds == null ? DEFAULT_DEADLINE_SECONDS
                        : spec.runDeadlineSeconds.longValue())
                .withTtlSecondsAfterFinished(settings.finishedRunTtlSeconds())
                // retrying cannot fix bad input or a node without the required meter: fail the Job at once
                .withNewPodFailurePolicy()
                .addNewRule().withAction("FailJob").withNewOnExitCodes().withContainerName("worker").withOperator("In")
                .withValues(EXIT_INVALID_INPUT, EXIT_METER_UNAVAILABLE).endOnExitCodes().endRule()
                .endPodFailurePolicy()
                .withNewTemplate().withNewMetadata().withLabels(labels).withAnnotations(annotations).endMetadata()
                .withSpec(pod).endTemplate()
                .endSpec().build();
    }

    /** CPU and memory of the worker: the PruningJob's, else its HardwareClass's, else the operator's defaults. */
    static ResourceRequirements workerResources(PruningJobSpec spec, HardwareClass hwc, OperatorSettings settings) {
        if (spec.resources != null) {
            return spec.resources;
        }
        return hwc.getSpec().workerResources != null ? hwc.getSpec().workerResources : settings.workerResources();
    }

    private static void strategyArguments(PruningJobSpec.Strategy strategy, List<String> args) {
        if (strategy == null) {
            return;
        }
        if (strategy.criterion != null) {
            args.addAll(List.of("--criterion", strategy.criterion == PruningJobSpec.Criterion.ENERGY_AWARE ? "energy-aware"
                    : strategy.criterion.name().toLowerCase()));
        }
        add(args, "--alpha", strategy.alpha);
        add(args, "--beta", strategy.beta);
        add(args, "--step-fraction", strategy.stepFraction);
        add(args, "--step-growth", strategy.stepGrowth);
        add(args, "--channel-multiple", strategy.channelMultiple);
        add(args, "--max-iterations", strategy.maxIterations);
        if (strategy.fineTuning != null) {
            add(args, "--learning-rate", strategy.fineTuning.learningRate);
            add(args, "--batch-size", strategy.fineTuning.batchSize);
            add(args, "--weight-decay", strategy.fineTuning.weightDecay);
            add(args, "--finetune-steps", strategy.fineTuning.stepsPerIteration);
        }
    }

    private static void add(List<String> args, String flag, Object value) {
        if (value != null) {
            args.add(flag);
            args.add(value.toString());
        }
    }

    private static String toJson(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}

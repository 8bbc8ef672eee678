package dev.pollard.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class InferenceDeploymentStatus {
    public static final String ORIGIN_SOURCE = "Source";
    public static final String ORIGIN_PRUNING_JOB = "PruningJob";

    @JsonPropertyDescription("The metadata.generation this status describes.")
    public Long observedGeneration;

    @JsonPropertyDescription("Ready (every replica serves servedModel), Reconciling (a rollout is going on) and Stalled "
            + "(an invalid spec), with kstatus meanings.")
    public List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("The model every replica serves: the newest successful pruned result of the source in "
            + "spec.model for spec.hardwareClass, or the source itself, once its rollout has completed.")
    public Model servedModel;

    @JsonPropertyDescription("The model a rollout in progress is bringing in; absent once every replica serves it. A model "
            + "whose pods never become ready stays here while servedModel keeps serving.")
    public Model rolloutModel;

    @JsonPropertyDescription("The model served before servedModel, for a rollback.")
    public Model previousModel;

    @JsonPropertyDescription("Short form of servedModel.sha256 (sha256:<first 12 hex digits>).")
    public String modelDigest;

    @JsonPropertyDescription("Replicas that passed their readiness probe.")
    public Integer readyReplicas;

    @JsonPropertyDescription("In-cluster URL of the Open Inference Protocol endpoint.")
    public String url;

    /** A model that is or was served, and where it came from. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Model {
        @JsonPropertyDescription("Location of the ONNX file.")
        public String uri;
        @JsonPropertyDescription("Its sha256; the server refuses a file that differs.")
        public String sha256;
        @JsonPropertyDescription("Source (spec.model as declared) or PruningJob (a pruned result of that source).")
        public String origin;
        @JsonPropertyDescription("The PruningJob whose result this is.")
        public String pruningJob;
        @JsonPropertyDescription("The run (batch/v1 Job) that produced it.")
        public String run;
        @JsonPropertyDescription("The HardwareClass it was pruned for.")
        public String hardwareClass;
        @JsonPropertyDescription("sha256 of the source model it was pruned from.")
        public String sourceSha256;

        /** The same file from the same place (what a rollout is about). */
        public boolean sameFile(Model other) {
            return other != null && Objects.equals(uri, other.uri) && Objects.equals(sha256, other.sha256);
        }
    }
}

package dev.pollard.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class InferenceDeploymentStatus {
    @JsonPropertyDescription("The metadata.generation this status describes.")
    public Long observedGeneration;

    @JsonPropertyDescription("Conditions, Ready first: Ready is True when every replica serves the model of the spec.")
    public List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("sha256 of the model the ready replicas serve.")
    public String servedSha256;

    @JsonPropertyDescription("Short form of servedSha256 (sha256:<first 12 hex digits>).")
    public String modelDigest;

    @JsonPropertyDescription("Replicas that passed their readiness probe.")
    public Integer readyReplicas;

    @JsonPropertyDescription("In-cluster URL of the Open Inference Protocol endpoint.")
    public String url;
}

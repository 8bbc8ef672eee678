package dev.pollard.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class InferenceDeploymentSpec {

    @Required
    @JsonPropertyDescription("The source model, pinned by its sha256: the dense model as its owner declares it. Pollard "
            + "never changes it; what the pods serve is status.servedModel: the newest successful pruned result of this "
            + "source for spec.hardwareClass, or this model itself until one exists.")
    public ServedModel model;

    @JsonPropertyDescription("Whether pruned versions of the source may be served.")
    public Compression compression;

    @Pattern(Patterns.DNS_SUBDOMAIN)
    @JsonPropertyDescription("HardwareClass whose node selector, tolerations, runtime class and GPU request the serving "
            + "pods use, and whose pruned results are served. Omit to serve on CPU (then a result for any class may be "
            + "served).")
    public String hardwareClass;

    @Default("1")
    @Min(0)
    @Max(1000)
    @JsonPropertyDescription("Number of serving pods.")
    public Integer replicas;

    @JsonPropertyDescription("The model server.")
    public Runtime runtime;

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = Patterns.NO_S3, message = Patterns.NO_S3_MESSAGE)
    @ValidationRule(value = Patterns.SECRET_OVER_TLS, message = Patterns.SECRET_OVER_TLS_MESSAGE)
    public static class ServedModel {
        @Required
        @Pattern(Patterns.READABLE_URI)
        @JsonPropertyDescription("Location of the ONNX file: pvc://<claim>/<path>, http(s)://... (credentials from "
                + "secretRef) or file:///<path>.")
        public String uri;

        @Required
        @Pattern(Patterns.SHA256)
        @JsonPropertyDescription("sha256 of the ONNX file (64 lowercase hex digits); the server refuses a file that differs.")
        public String sha256;

        @JsonPropertyDescription("Secret holding credentials for the model's URI.")
        public SecretReference secretRef;

        @Pattern("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")
        @JsonPropertyDescription("Name the model is served under (/v2/models/<name>); defaults to the resource name.")
        public String name;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Compression {
        @Default("true")
        @JsonPropertyDescription("false: serve spec.model exactly as declared; no CompressionPolicy generates runs for "
                + "this deployment and results of PruningJobs naming it in deployTo are not served.")
        public Boolean enabled;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Runtime {
        @JsonPropertyDescription("Container image of the model server (default: the operator's own worker image). Any other "
                + "image must be listed in spec.allowedImages of the HardwareClass named in spec.hardwareClass.")
        public String image;

        @Default("8080")
        @Min(1024)
        @Max(65535)
        @JsonPropertyDescription("Port the Open Inference Protocol endpoint listens on.")
        public Integer port;

        @Min(1)
        @Max(256)
        @JsonPropertyDescription("ONNX Runtime intra-op threads per pod (default: the CPU limit).")
        public Integer threads;

        @JsonPropertyDescription("CPU and memory requests and limits of the server container (GPUs come from the "
                + "HardwareClass).")
        public ResourceRequirements resources;
    }
}

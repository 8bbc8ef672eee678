package dev.pollard.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A served model: an ONNX artifact pinned by sha256, served by a Deployment and a Service. */
@Group(PruningJob.GROUP)
@Version(PruningJob.VERSION)
@ShortNames("infd")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status",
        type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Model", jsonPath = ".status.modelDigest", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Hardware", jsonPath = ".spec.hardwareClass", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Replicas", jsonPath = ".status.readyReplicas", type = AdditionalPrinterColumn.Type.INTEGER,
        priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
// the name becomes a Service's name and label values
@ValidationRule(value = "self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
        message = "metadata.name must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, at "
                + "most 63 characters): it names the Service in front of the model")
public class InferenceDeployment extends CustomResource<InferenceDeploymentSpec, InferenceDeploymentStatus>
        implements Namespaced {
}

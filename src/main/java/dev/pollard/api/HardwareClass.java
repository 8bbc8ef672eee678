package dev.pollard.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A kind of accelerator: where its nodes are, how to request it, how to meter it and its datasheet energy model. */
@Group(PruningJob.GROUP)
@Version(PruningJob.VERSION)
@ShortNames("hwc")
@AdditionalPrinterColumn(name = "GPU", jsonPath = ".spec.gpu.product", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "GPUs-Per-Pod", jsonPath = ".spec.gpu.count", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Meter", jsonPath = ".spec.meter", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@ValidationRule(value = Patterns.NAME_FITS_LABEL, message = Patterns.NAME_FITS_LABEL_MESSAGE)
public class HardwareClass extends CustomResource<HardwareClassSpec, HardwareClassStatus> {
    // cluster-scoped: not Namespaced
}

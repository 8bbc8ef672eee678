package dev.pollard.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** One compression request: prune a model for a hardware class within an energy budget and an accuracy tolerance. */
@Group(PruningJob.GROUP)
@Version(PruningJob.VERSION)
@ShortNames("pj")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Hardware", jsonPath = ".spec.hardwareClass", type = AdditionalPrinterColumn.Type.STRING)
// while a run goes on: its latest step; once it has finished: its outcome
@AdditionalPrinterColumn(name = "Iteration", jsonPath = ".status.progress.iteration", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Joules", jsonPath = ".status.progress.joulesPerInference", type = AdditionalPrinterColumn.Type.NUMBER)
@AdditionalPrinterColumn(name = "Accuracy", jsonPath = ".status.progress.accuracy", type = AdditionalPrinterColumn.Type.NUMBER)
@AdditionalPrinterColumn(name = "Energy-Reduction", jsonPath = ".status.ratios.energyReduction", type = AdditionalPrinterColumn.Type.NUMBER)
@AdditionalPrinterColumn(name = "Accuracy-Drop", jsonPath = ".status.accuracyDrop", type = AdditionalPrinterColumn.Type.NUMBER)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@ValidationRule(value = Patterns.NAME_FITS_LABEL, message = Patterns.NAME_FITS_LABEL_MESSAGE)
public class PruningJob extends CustomResource<PruningJobSpec, PruningJobStatus> implements Namespaced {
    public static final String GROUP = "pollard.dev";
    public static final String VERSION = "v1alpha1";
}

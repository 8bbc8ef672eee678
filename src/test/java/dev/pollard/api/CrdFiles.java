package dev.pollard.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crdv2.generator.CRDGenerator;
import io.fabric8.crdv2.generator.CRDPostProcessor;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Generates the CRDs from the classes in {@code dev.pollard.api} with fabric8's generator, keeping printer columns in
 * the order they are declared (the generator's own order is arbitrary, and kubectl shows them as listed).
 */
public final class CrdFiles {
    public static final List<Class<? extends HasMetadata>> KINDS =
            List.of(PruningJob.class, InferenceDeployment.class, HardwareClass.class, CompressionPolicy.class);

    /**
     * Where the committed copies live, relative to the repository root: crds/NAME.yaml, manifests/02-crd-NAME.yaml and the
     * Helm chart's charts/pollard/crds/NAME.yaml.
     */
    public static Map<Path, String> committedCopies(Map<String, String> generated) {
        Map<Path, String> copies = new TreeMap<>();
        generated.forEach((name, yaml) -> {
            copies.put(Path.of("crds", name + ".yaml"), yaml);
            copies.put(Path.of("manifests", "02-crd-" + name + ".yaml"), yaml);
            copies.put(Path.of("charts", "pollard", "crds", name + ".yaml"), yaml);
        });
        return copies;
    }

    /** CRD name (e.g. pruningjobs.pollard.dev) to YAML text. */
    public static Map<String, String> generate() {
        try {
            Path dir = Files.createTempDirectory("pollard-crds");
            new CRDGenerator().inOutputDir(dir.toFile()).forCRDVersions("v1")
                    .withPostProcessor(new DeclaredColumnOrder())
                    .customResourceClasses(KINDS)
                    .generate();
            Map<String, String> crds = new TreeMap<>();
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    String name = f.getFileName().toString().replace("-v1.yml", "");
                    crds.put(name, Files.readString(f));
                    Files.delete(f);
                }
            }
            Files.delete(dir);
            return crds;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final class DeclaredColumnOrder implements CRDPostProcessor {
        @Override
        public HasMetadata process(HasMetadata crd, String version) {
            CustomResourceDefinition definition = (CustomResourceDefinition) crd;
            Class<?> kind = KINDS.stream()
                    .filter(k -> k.getSimpleName().equals(definition.getSpec().getNames().getKind()))
                    .findFirst().orElseThrow();
            List<String> declared = Arrays.stream(kind.getAnnotationsByType(AdditionalPrinterColumn.class))
                    .map(AdditionalPrinterColumn::name).toList();
            for (CustomResourceDefinitionVersion v : definition.getSpec().getVersions()) {
                if (v.getAdditionalPrinterColumns() != null) {
                    v.getAdditionalPrinterColumns().sort(
                            Comparator.comparingInt((CustomResourceColumnDefinition c) -> declared.indexOf(c.getName())));
                }
            }
            return crd;
        }
    }

    private CrdFiles() {
    }
}

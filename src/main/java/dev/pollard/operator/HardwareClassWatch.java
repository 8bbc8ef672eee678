package dev.pollard.operator;

import dev.pollard.api.HardwareClass;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Watches the cluster-scoped HardwareClasses for a reconciler of namespaced resources that name one: a resource is
 * reconciled again when the class it names is created, changed or deleted.
 */
final class HardwareClassWatch {
    private HardwareClassWatch() {
    }

    static <P extends HasMetadata> InformerEventSource<HardwareClass, P> create(EventSourceContext<P> context,
            Class<P> primaryType, Function<P, String> hardwareClassOf) {
        String index = primaryType.getSimpleName() + ".spec.hardwareClass";
        context.getPrimaryCache().addIndexer(index, p -> {
            String name = hardwareClassOf.apply(p);
            return name == null ? List.of() : List.of(name);
        });
        var config = InformerEventSourceConfiguration.from(HardwareClass.class, primaryType)
                .withName("hardwareclasses")
                .withWatchAllNamespaces()
                .withSecondaryToPrimaryMapper(hwc -> context.getPrimaryCache()
                        .byIndex(index, hwc.getMetadata().getName()).stream()
                        .map(ResourceID::fromResource).collect(Collectors.toSet()))
                .withPrimaryToSecondaryMapper((P p) -> {
                    String name = hardwareClassOf.apply(p);
                    return name == null ? Set.of() : Set.of(new ResourceID(name));
                })
                .build();
        return new InformerEventSource<>(config, context);
    }
}

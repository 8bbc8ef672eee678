package dev.pollard.operator;

import dev.pollard.api.HardwareClass;
import java.util.List;
import java.util.Optional;

/**
 * What a cluster admin allows on a HardwareClass: which namespaces may use it and which server images may run on it.
 * Checked by the operator before it creates anything for a tenant (see docs/security.md).
 */
final class HardwareClassPolicy {
    private HardwareClassPolicy() {
    }

    /** Why {@code namespace} may not use the class, or empty when it may. */
    static Optional<String> namespaceRefused(HardwareClass hwc, String namespace) {
        List<String> allowed = hwc.getSpec().allowedNamespaces;
        if (allowed == null || allowed.contains(namespace)) {
            return Optional.empty();
        }
        return Optional.of("HardwareClass '" + hwc.getMetadata().getName() + "' does not allow namespace '" + namespace
                + "' (spec.allowedNamespaces of the class, set by a cluster admin)");
    }

    /**
     * Why a model server may not run {@code image}, or empty when it may: the operator's own image always, any other
     * only when the class lists it (a deployment without a class may run the operator's image only).
     */
    static Optional<String> imageRefused(HardwareClass hwc, String image, String operatorImage) {
        if (image == null || image.equals(operatorImage)) {
            return Optional.empty();
        }
        List<String> allowed = hwc == null ? null : hwc.getSpec().allowedImages;
        if (allowed != null && allowed.stream().anyMatch(a -> a.endsWith("*") ? image.startsWith(a.substring(0, a.length() - 1))
                : a.equals(image))) {
            return Optional.empty();
        }
        return Optional.of("spec.runtime.image '" + image + "' is not allowed: " + (hwc == null
                ? "without spec.hardwareClass only the operator's image runs"
                : "HardwareClass '" + hwc.getMetadata().getName() + "' does not list it in spec.allowedImages"));
    }
}

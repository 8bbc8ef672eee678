package dev.pollard.operator;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * An informer's cache that keeps of each object only what the operator reads, so that its memory grows slowly with the
 * number of runs (docs/results.md, "Operator at scale"). Dropped: managedFields (a nested map for every field each
 * manager owns: at a thousand runs the largest part of the operator's heap; the operator's own matchers compare the
 * fields it sets instead), kubectl's client-side last-applied copy of the whole object, a worker pod's spec and a run
 * Job's pod template. Trimmed objects are never written back: the operator writes objects built afresh (server-side
 * apply, or a POST), JSON patches of named fields and deletes by name.
 */
public class TrimmedCache<R extends HasMetadata> extends BasicItemStore<R> {
    static final String LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

    private final Consumer<R> keepOnly;

    public TrimmedCache() {
        this(r -> {
        });
    }

    /** @param keepOnly cuts each object further to what the cache's one reader reads of it */
    public TrimmedCache(Consumer<R> keepOnly) {
        super(Cache::metaNamespaceKeyFunc);
        this.keepOnly = keepOnly;
    }

    @Override
    public R put(String key, R object) {
        trim(object);
        keepOnly.accept(object);
        return super.put(key, object);
    }

    static void trim(HasMetadata object) {
        if (object instanceof Pod pod) {
            pod.setSpec(null); // a worker pod's spec is its Job's template: the operator reads only the pod's status
        } else if (object instanceof Job job && job.getSpec() != null) {
            job.getSpec().setTemplate(null); // a run's Job is created once, never compared or updated: its pod template is not read
        }
        ObjectMeta meta = object.getMetadata();
        if (meta == null) {
            return;
        }
        meta.setManagedFields(null);
        if (meta.getAnnotations() != null && meta.getAnnotations().containsKey(LAST_APPLIED)) {
            Map<String, String> annotations = new LinkedHashMap<>(meta.getAnnotations());
            annotations.remove(LAST_APPLIED);
            meta.setAnnotations(annotations);
        }
    }
}

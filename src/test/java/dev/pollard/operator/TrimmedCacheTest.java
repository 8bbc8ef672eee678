package dev.pollard.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What an informer keeps of the objects the operator caches: what it reads. */
class TrimmedCacheTest {

    @Test
    void aPodKeepsItsIdentityAndStatusAndLosesItsSpecAndManagedFields() {
        Pod pod = new PodBuilder().withNewMetadata().withName("run-1-abc").withNamespace("team")
                .withLabels(Map.of("job-name", "run-1"))
                .withAnnotations(Map.of(TrimmedCache.LAST_APPLIED, "{\"big\":true}", "keep", "me"))
                .withManagedFields(entry("kube-controller-manager"), entry(Labels.OPERATOR), entry("kubelet")).endMetadata()
                .withNewSpec().addNewContainer().withName("worker").withImage("img").endContainer().endSpec()
                .withNewStatus().withPhase("Running").withPodIP("10.1.2.3").endStatus().build();

        TrimmedCache<Pod> cache = new TrimmedCache<>();
        cache.put(cache.getKey(pod), pod);
        Pod cached = cache.get("team/run-1-abc");

        assertThat(cached.getSpec()).isNull();
        assertThat(cached.getStatus().getPodIP()).isEqualTo("10.1.2.3");
        assertThat(cached.getMetadata().getLabels()).containsEntry("job-name", "run-1");
        assertThat(cached.getMetadata().getAnnotations()).containsOnlyKeys("keep");
        assertThat(cached.getMetadata().getManagedFields()).isNullOrEmpty();
    }

    @Test
    void aRunsJobKeepsItsDeadlineAndStatusButNotItsPodTemplate() {
        Job job = new JobBuilder().withNewMetadata().withName("run-1").withNamespace("team").endMetadata()
                .withNewSpec().withActiveDeadlineSeconds(600L).withNewTemplate().withNewSpec().addNewContainer()
                .withName("worker").endContainer().endSpec().endTemplate().endSpec()
                .withNewStatus().withSucceeded(1).endStatus().build();

        TrimmedCache.trim(job);

        assertThat(job.getSpec().getTemplate()).isNull();
        assertThat(job.getSpec().getActiveDeadlineSeconds()).isEqualTo(600L);
        assertThat(job.getStatus().getSucceeded()).isEqualTo(1);
    }

    @Test
    void aServedDeploymentKeepsItsTemplateAndNoManagedFieldsNotEvenTheOperatorsOwn() {
        Deployment deployment = new DeploymentBuilder().withNewMetadata().withName("cnn").withNamespace("team")
                .withManagedFields(entry(Labels.OPERATOR), entry("kubectl-edit")).endMetadata()
                .withNewSpec().withReplicas(2).withNewTemplate().withNewSpec().addNewContainer().withName("server")
                .endContainer().endSpec().endTemplate().endSpec().build();

        TrimmedCache<Deployment> cache = new TrimmedCache<>();
        cache.put(cache.getKey(deployment), deployment);

        assertThat(deployment.getSpec().getTemplate().getSpec().getContainers()).hasSize(1);
        assertThat(deployment.getMetadata().getManagedFields()).isNullOrEmpty();
    }

    private static io.fabric8.kubernetes.api.model.ManagedFieldsEntry entry(String manager) {
        return new ManagedFieldsEntryBuilder().withManager(manager).withOperation("Apply").build();
    }
}

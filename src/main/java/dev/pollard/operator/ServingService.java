package dev.pollard.operator;

import dev.pollard.api.InferenceDeployment;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The ClusterIP Service in front of the serving pods. */
@KubernetesDependent(informer = @Informer(labelSelector = ServingDeployment.INFORMER_SELECTOR,
        itemStore = TrimmedCache.OfUpdatedDependents.class))
public class ServingService extends CRUDKubernetesDependentResource<Service, InferenceDeployment> {

    public ServingService() {
        super(Service.class);
    }

    @Override
    protected Service desired(InferenceDeployment infd, Context<InferenceDeployment> context) {
        return new ServiceBuilder()
                .withNewMetadata().withName(infd.getMetadata().getName()).withNamespace(infd.getMetadata().getNamespace())
                .withLabels(Labels.all(infd, ServingDeployment.COMPONENT)).endMetadata()
                .withNewSpec().withType("ClusterIP").withSelector(Labels.selector(infd, ServingDeployment.COMPONENT))
                .addNewPort().withName("http").withPort(port(infd)).withTargetPort(new IntOrString("http")).endPort()
                .endSpec().build();
    }

    static int port(InferenceDeployment infd) {
        var runtime = infd.getSpec().runtime;
        return runtime != null && runtime.port != null ? runtime.port : ServingDeployment.DEFAULT_PORT;
    }
}

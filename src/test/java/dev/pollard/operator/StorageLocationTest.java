package dev.pollard.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pollard.api.SecretReference;
import org.junit.jupiter.api.Test;

class StorageLocationTest {

    @Test
    void aClaimIsMountedAndItsPathGivenToTheProcess() {
        StorageLocation location = StorageLocation.of("model", "spec.model.uri", "pvc://models/cnn/model.onnx", null, false);
        assertThat(location.argument()).isEqualTo("/pollard/model/cnn/model.onnx");
        assertThat(location.volume().orElseThrow().getPersistentVolumeClaim().getClaimName()).isEqualTo("models");
        assertThat(location.mount().orElseThrow().getReadOnly()).isTrue();
        assertThat(location.env()).isEmpty();
    }

    @Test
    void anHttpsUriGoesToTheProcessWithItsAuthorizationFromTheSecret() {
        StorageLocation location = StorageLocation.of("dataset", "spec.dataset.uri", "https://data.example/fm.npz",
                new SecretReference("data-token"), false);
        assertThat(location.argument()).isEqualTo("https://data.example/fm.npz");
        assertThat(location.volume()).isEmpty();
        assertThat(location.env()).singleElement().satisfies(env -> {
            assertThat(env.getName()).isEqualTo("POLLARD_DATASET_AUTHORIZATION");
            assertThat(env.getValue()).isNull(); // never the credential itself in the pod spec
            assertThat(env.getValueFrom().getSecretKeyRef().getName()).isEqualTo("data-token");
            assertThat(env.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("Authorization");
        });
    }

    @Test
    void whatAClusterCannotReachIsRefusedNamingTheField() {
        assertThatThrownBy(() -> StorageLocation.of("output", "spec.output.uri", "https://example.com/out", null, true))
                .hasMessage("spec.output.uri: 'https://example.com/out' is not supported; in a cluster use pvc://");
        assertThatThrownBy(() -> StorageLocation.of("model", "spec.model.uri", "s3://bucket/model.onnx", null, false))
                .hasMessage("spec.model.uri: 's3://bucket/model.onnx' is not supported; in a cluster use pvc:// or http(s)://");
        assertThatThrownBy(() -> StorageLocation.of("model", "spec.model.uri", "file:///models/a.onnx", null, false))
                .hasMessageStartingWith("spec.model.uri: file:// URIs only work for local runs");
    }
}

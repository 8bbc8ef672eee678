package dev.pollard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.awaitility.Awaitility;

/** Reading the repository's YAML files and installing the CRDs into a real API server. */
public final class Resources {
    public static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private Resources() {
    }

    public static ObjectNode readYaml(String path) {
        try {
            return (ObjectNode) YAML.readTree(Files.readString(Path.of(path)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Server-side applies every CRD under crds/ and waits until the server serves them. */
    public static void installCrds(KubernetesClient client) {
        try (var files = Files.list(Path.of("crds"))) {
            List<Path> crds = files.sorted().toList();
            for (Path f : crds) {
                CustomResourceDefinition crd = client.getKubernetesSerialization()
                        .unmarshal(Files.readString(f), CustomResourceDefinition.class);
                client.apiextensions().v1().customResourceDefinitions().resource(crd)
                        .forceConflicts().serverSideApply();
                Awaitility.await().atMost(Waits.REACTION).until(() -> established(client, crd.getMetadata().getName()));
                // Established comes a moment before the server lists the kind; informers started earlier fail
                String apiVersion = crd.getSpec().getGroup() + "/" + crd.getSpec().getVersions().get(0).getName();
                Awaitility.await().atMost(Waits.REACTION).ignoreExceptions().until(() -> client
                        .genericKubernetesResources(apiVersion, crd.getSpec().getNames().getKind()).inAnyNamespace()
                        .list().getItems() != null);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean established(KubernetesClient client, String name) {
        CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions().withName(name).get();
        return crd != null && crd.getStatus() != null && crd.getStatus().getConditions() != null
                && crd.getStatus().getConditions().stream()
                        .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()));
    }

    /** True when every field of {@code expected} is present with an equal value in {@code actual}. */
    public static boolean contains(JsonNode actual, JsonNode expected) {
        if (expected.isObject()) {
            if (!actual.isObject()) {
                return false;
            }
            var it = expected.fields();
            while (it.hasNext()) {
                var e = it.next();
                if (!actual.has(e.getKey()) || !contains(actual.get(e.getKey()), e.getValue())) {
                    return false;
                }
            }
            return true;
        }
        if (expected.isNumber() && actual.isNumber()) {
            return expected.decimalValue().compareTo(actual.decimalValue()) == 0;
        }
        if (expected.isArray() && actual.isArray() && expected.size() == actual.size()) {
            for (int i = 0; i < expected.size(); i++) {
                if (!contains(actual.get(i), expected.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return expected.equals(actual);
    }
}

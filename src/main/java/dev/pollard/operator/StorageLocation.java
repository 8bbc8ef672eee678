package dev.pollard.operator;

import dev.pollard.api.SecretReference;
import dev.pollard.data.RemoteFiles;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import java.util.List;
import java.util.Optional;

/**
 * How a pod reaches a URI from a spec: a PVC becomes a volume mounted under /pollard/ROLE and a local path; an http(s)
 * URI is passed to the process, which fetches it itself, with the Authorization header from the referenced Secret.
 *
 * @param argument what the process is given: a local path or the URI itself
 */
record StorageLocation(String argument, Optional<Volume> volume, Optional<VolumeMount> mount, List<EnvVar> env) {
    static final String MOUNT_ROOT = "/pollard/";
    static final String AUTHORIZATION_KEY = "Authorization";

    /**
     * @param role short name used for the volume and the mount (model, dataset, output)
     * @param field the spec field the URI came from, named in errors
     */
    static StorageLocation of(String role, String field, String uri, SecretReference secret, boolean writable) {
        if (uri.startsWith("pvc://")) {
            String rest = uri.substring("pvc://".length());
            int slash = rest.indexOf('/');
            if (slash <= 0 || slash == rest.length() - 1) {
                throw new InvalidSpecException(field + ": '" + uri + "' must look like pvc://<claim>/<path>");
            }
            String claim = rest.substring(0, slash);
            String path = rest.substring(slash + 1);
            if (path.contains("..")) {
                throw new InvalidSpecException(field + ": '" + uri + "' must not contain '..'");
            }
            String mountPath = MOUNT_ROOT + role;
            Volume volume = new VolumeBuilder().withName(role).withNewPersistentVolumeClaim(claim, !writable).build();
            VolumeMount mount = new VolumeMountBuilder().withName(role).withMountPath(mountPath).withReadOnly(!writable).build();
            return new StorageLocation(mountPath + "/" + path, Optional.of(volume), Optional.of(mount), List.of());
        }
        String inCluster = "in a cluster use pvc://" + (writable ? "" : " or http(s)://");
        if (uri.startsWith("file://")) {
            throw new InvalidSpecException(field + ": file:// URIs only work for local runs of ./pollard; " + inCluster);
        }
        if (!RemoteFiles.isRemote(uri) || writable) {
            // the schema admits no other; this names the field should one arrive another way
            throw new InvalidSpecException(field + ": '" + uri + "' is not supported; " + inCluster);
        }
        // optional: a Secret without the key sends no credentials, and the server's 401 then says what is missing
        List<EnvVar> env = secret == null ? List.of() : List.of(new EnvVarBuilder()
                .withName(RemoteFiles.authorizationVariable(role)).withNewValueFrom()
                .withNewSecretKeyRef(AUTHORIZATION_KEY, secret.name, true).endValueFrom().build());
        return new StorageLocation(uri, Optional.empty(), Optional.empty(), env);
    }
}

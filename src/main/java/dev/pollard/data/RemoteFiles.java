package dev.pollard.data;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * Inputs given as http(s) URIs, fetched into a local directory before anything reads them. Credentials come from the
 * variable {@code POLLARD_<ROLE>_AUTHORIZATION}, which the operator fills from the Secret a spec references, and are
 * sent as the Authorization header, never to a host a redirect points at.
 */
public final class RemoteFiles {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(30);

    private RemoteFiles() {
    }

    /** A fetch that failed; permanent when retrying cannot help (the server answered 4xx). */
    public static final class FetchException extends IOException {
        public final boolean permanent;

        FetchException(String message, boolean permanent, Throwable cause) {
            super(message, cause);
            this.permanent = permanent;
        }
    }

    public static boolean isRemote(String location) {
        return location.startsWith("http://") || location.startsWith("https://");
    }

    /** The name of the variable holding the Authorization header for a role's URI. */
    public static String authorizationVariable(String role) {
        return "POLLARD_" + role.toUpperCase(Locale.ROOT) + "_AUTHORIZATION";
    }

    /**
     * The local file for a location: the location itself unless it is an http(s) URI, which is downloaded into
     * {@code dir/role/} first (into a temporary file, moved into place only when complete).
     *
     * @param role model or dataset: names the credentials variable and the subdirectory
     */
    public static Path localCopy(String location, String role, Path dir, Map<String, String> env) throws FetchException {
        if (!isRemote(location)) {
            return Path.of(location);
        }
        URI uri = URI.create(location);
        String authorization = env.get(authorizationVariable(role));
        boolean withCredentials = authorization != null && !authorization.isBlank();
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).GET();
        if (withCredentials) {
            request.header("Authorization", authorization.strip());
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(withCredentials ? HttpClient.Redirect.NEVER : HttpClient.Redirect.NORMAL).build();
        String path = uri.getPath() == null ? "" : uri.getPath();
        String name = path.substring(path.lastIndexOf('/') + 1);
        Path target = dir.resolve(role).resolve(name.isEmpty() || name.equals("..") ? role : name);
        Path part = null;
        try {
            Files.createDirectories(target.getParent());
            part = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".part");
            HttpResponse<Path> response = client.send(request.build(), HttpResponse.BodyHandlers.ofFile(part));
            int status = response.statusCode();
            if (status != 200) {
                throw new FetchException(explain(status, withCredentials, role), status >= 400 && status < 500, null);
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FetchException("interrupted while downloading", false, e);
        } catch (FetchException e) {
            throw e;
        } catch (IOException e) {
            throw new FetchException("cannot download: " + e, false, e);
        } finally {
            if (part != null) {
                try {
                    Files.deleteIfExists(part);
                } catch (IOException ignored) {
                    // a leftover temporary file in scratch space is harmless
                }
            }
        }
    }

    private static String explain(int status, boolean withCredentials, String role) {
        String message = "HTTP " + status;
        if ((status == 401 || status == 403) && !withCredentials) {
            return message + " (no credentials were sent: reference a Secret with key Authorization in " + role + ".secretRef)";
        }
        if (status >= 300 && status < 400 && withCredentials) {
            return message + " (redirects are not followed when credentials are sent)";
        }
        return message;
    }
}

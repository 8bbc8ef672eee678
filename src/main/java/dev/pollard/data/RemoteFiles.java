package dev.pollard.data;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;

/**
 * Inputs given as http(s) URIs, fetched into a local directory before anything reads them. Credentials come from the
 * variable {@code POLLARD_<ROLE>_AUTHORIZATION}, which the operator fills from the Secret a spec references, and are
 * sent as the Authorization header, only over https, and never to a host a redirect points at.
 *
 * <p>A tenant names the URI, so a fetch is fenced: it refuses hosts that resolve to this machine (loopback, the
 * unspecified address) or to link-local addresses, where cloud metadata services hand out node credentials, and checks
 * again at every redirect; it stops at a size limit and a time limit. Variables tune the limits:
 * {@value #MAX_BYTES_VARIABLE} (default 20 GiB), {@value #CONNECT_TIMEOUT_VARIABLE} (default 30) and
 * {@value #TIMEOUT_VARIABLE} (the whole download, default 7200).
 */
public final class RemoteFiles {
    public static final String MAX_BYTES_VARIABLE = "POLLARD_FETCH_MAX_BYTES";
    public static final String CONNECT_TIMEOUT_VARIABLE = "POLLARD_FETCH_CONNECT_TIMEOUT_SECONDS";
    public static final String TIMEOUT_VARIABLE = "POLLARD_FETCH_TIMEOUT_SECONDS";
    /**
     * Lets fetches reach loopback addresses: only tests set it, to serve files from the test process. The operator
     * never puts it in a worker's or a server's environment.
     */
    public static final String ALLOW_LOOPBACK_VARIABLE = "POLLARD_FETCH_ALLOW_LOOPBACK";
    static final long DEFAULT_MAX_BYTES = 20L << 30;
    static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(30);
    static final Duration DEFAULT_TIMEOUT = Duration.ofHours(2);
    /** A month: longer timeouts only risk overflowing the clock arithmetic. */
    private static final long MAX_SECONDS = 30L * 24 * 3600;
    private static final int MAX_REDIRECTS = 5;
    /** Metadata services outside link-local space: AWS's IPv6 endpoint and Alibaba Cloud's. */
    private static final Set<String> METADATA_ADDRESSES = Set.of("fd00:ec2:0:0:0:0:0:254", "100.100.100.200");

    private RemoteFiles() {
    }

    /** A fetch that failed; permanent when retrying cannot help (the server answered 4xx, the policy refuses the URI). */
    public static final class FetchException extends IOException {
        public final boolean permanent;

        FetchException(String message, boolean permanent, Throwable cause) {
            super(message, cause);
            this.permanent = permanent;
        }
    }

    /** How far one fetch may go, from the environment. */
    record Limits(long maxBytes, Duration connectTimeout, Duration timeout, boolean allowLoopback) {
        static Limits from(Map<String, String> env) throws FetchException {
            return new Limits(number(env, MAX_BYTES_VARIABLE, DEFAULT_MAX_BYTES, Long.MAX_VALUE),
                    Duration.ofSeconds(number(env, CONNECT_TIMEOUT_VARIABLE, DEFAULT_CONNECT_TIMEOUT.toSeconds(), MAX_SECONDS)),
                    Duration.ofSeconds(number(env, TIMEOUT_VARIABLE, DEFAULT_TIMEOUT.toSeconds(), MAX_SECONDS)),
                    "true".equals(env.get(ALLOW_LOOPBACK_VARIABLE)));
        }

        private static long number(Map<String, String> env, String variable, long fallback, long max) throws FetchException {
            String value = env.get(variable);
            if (value == null || value.isBlank()) {
                return fallback;
            }
            try {
                long n = Long.parseLong(value.strip());
                if (n > 0 && n <= max) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // said below
            }
            throw new FetchException(variable + ": '" + value + "' is not a whole number from 1 to " + max, true, null);
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
        try {
            return localCopy(location, role, dir, env, SSLContext.getDefault());
        } catch (NoSuchAlgorithmException e) {
            throw new FetchException("no TLS support in this JVM: " + e.getMessage(), false, e);
        }
    }

    /** The same, trusting the certificates {@code tls} trusts (tests serve https with their own). */
    static Path localCopy(String location, String role, Path dir, Map<String, String> env, SSLContext tls) throws FetchException {
        if (!isRemote(location)) {
            return Path.of(location);
        }
        Limits limits = Limits.from(env);
        URI uri;
        try {
            uri = new URI(location);
        } catch (java.net.URISyntaxException e) {
            throw new FetchException("not a valid URI: " + e.getMessage(), true, e);
        }
        String authorization = env.get(authorizationVariable(role));
        boolean withCredentials = authorization != null && !authorization.isBlank();
        if (withCredentials && !uri.getScheme().equals("https")) {
            throw new FetchException("refusing to send the credentials of " + role + ".secretRef over plain http: use an https:// URI",
                    true, null);
        }
        HttpClient client = HttpClient.newBuilder().sslContext(tls).connectTimeout(limits.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER).build();
        String path = uri.getPath() == null ? "" : uri.getPath();
        String name = path.substring(path.lastIndexOf('/') + 1);
        Path target = dir.resolve(role).resolve(name.isEmpty() || name.equals("..") || name.equals(".") ? role : name);
        long deadline = System.nanoTime() + limits.timeout().toNanos();
        Path part = null;
        try {
            Files.createDirectories(target.getParent());
            part = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".part");
            for (int redirects = 0;; redirects++) {
                checkHost(uri, limits.allowLoopback());
                HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(remaining(deadline, limits)).GET();
                if (withCredentials) {
                    request.header("Authorization", authorization.strip());
                }
                HttpResponse<Path> response = send(client, request.build(), part, limits, deadline);
                int status = response.statusCode();
                if (status >= 300 && status < 400 && !withCredentials && response.headers().firstValue("Location").isPresent()) {
                    if (redirects == MAX_REDIRECTS) {
                        throw new FetchException("more than " + MAX_REDIRECTS + " redirects", true, null);
                    }
                    uri = redirect(uri, response.headers().firstValue("Location").get());
                    continue;
                }
                if (status != 200) {
                    throw new FetchException(explain(status, withCredentials, role), status >= 400 && status < 500, null);
                }
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return target;
            }
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

    /** Sends the request and waits for the whole body, no longer than the deadline. */
    private static HttpResponse<Path> send(HttpClient client, HttpRequest request, Path part, Limits limits, long deadline)
            throws IOException {
        CompletableFuture<HttpResponse<Path>> response = client.sendAsync(request, info -> info.statusCode() == 200
                ? new LimitedFile(part, limits.maxBytes(), info.headers().firstValueAsLong("Content-Length").orElse(-1))
                : HttpResponse.BodySubscribers.replacing(part));
        try {
            return response.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            response.cancel(true);
            throw new FetchException("not downloaded within " + limits.timeout().toSeconds() + " s (" + TIMEOUT_VARIABLE + ")", false, e);
        } catch (InterruptedException e) {
            response.cancel(true);
            Thread.currentThread().interrupt();
            throw new FetchException("interrupted while downloading", false, e);
        } catch (ExecutionException e) {
            for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
                if (cause instanceof FetchException fetch) {
                    throw fetch;
                }
            }
            throw new FetchException("cannot download: " + e.getCause(), false, e.getCause());
        }
    }

    private static Duration remaining(long deadline, Limits limits) throws FetchException {
        long nanos = deadline - System.nanoTime();
        if (nanos <= 0) {
            throw new FetchException("not downloaded within " + limits.timeout().toSeconds() + " s (" + TIMEOUT_VARIABLE + ")", false, null);
        }
        return Duration.ofNanos(nanos);
    }

    /** Where a redirect leads, if it stays on http(s) and does not step down from https to http. */
    private static URI redirect(URI from, String location) throws FetchException {
        URI to;
        try {
            to = from.resolve(new URI(location));
        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
            throw new FetchException("a redirect to an invalid URI: " + location, true, e);
        }
        String scheme = to.getScheme() == null ? "" : to.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !(scheme.equals("http") && from.getScheme().equals("http"))) {
            throw new FetchException("refusing a redirect from " + from + " to " + to + " (only http(s), never from https to http)", true, null);
        }
        return to;
    }

    /**
     * Refuses a host any of whose addresses reaches this machine, or a link-local or metadata address, where a cloud
     * hands out the node's credentials. The HttpClient resolves the name again, but through the JVM's address cache,
     * which holds what this check saw for 30 s; a NetworkPolicy is the fence against anything subtler.
     */
    static void checkHost(URI uri, boolean allowLoopback) throws FetchException {
        String host = uri.getHost();
        if (host == null) {
            throw new FetchException("no host in " + uri, true, null);
        }
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            throw new FetchException("cannot resolve host " + host, false, e);
        }
        for (InetAddress address : addresses) {
            String reason = forbidden(address, allowLoopback);
            if (reason != null) {
                throw new FetchException("refusing to fetch from " + host + " (" + address.getHostAddress() + "): " + reason, true, null);
            }
        }
    }

    /** Why an address is off limits, or null. */
    static String forbidden(InetAddress address, boolean allowLoopback) {
        InetAddress v4 = embeddedIpv4(address);
        if (v4 != null) {
            return forbidden(v4, allowLoopback);
        }
        if (METADATA_ADDRESSES.contains(address.getHostAddress())) {
            return "a cloud metadata service";
        }
        if (address.isLinkLocalAddress()) {
            return "a link-local address, where cloud metadata services answer";
        }
        if (address.isAnyLocalAddress() || (address.getAddress().length == 4 && address.getAddress()[0] == 0)) {
            return "the unspecified address, which reaches this machine";
        }
        if (address.isLoopbackAddress() && !allowLoopback) {
            return "a loopback address, which reaches this machine";
        }
        return null;
    }

    /** The IPv4 address inside an IPv4-compatible (::a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) IPv6 address, or null. */
    private static InetAddress embeddedIpv4(InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            return null;
        }
        byte[] b = address.getAddress();
        byte[] nat64 = {0, 0x64, (byte) 0xff, (byte) 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
        boolean compatible = true;
        boolean translated = true;
        for (int i = 0; i < 12; i++) {
            compatible &= b[i] == 0;
            translated &= b[i] == nat64[i];
        }
        // ::1 and :: are IPv6's own loopback and unspecified addresses, not IPv4 ones
        if (!(translated || (compatible && (b[12] | b[13]) != 0))) {
            return null;
        }
        try {
            return InetAddress.getByAddress(Arrays.copyOfRange(b, 12, 16));
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // four bytes are always an address
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

    /** Writes a response body to a file, and fails as soon as it passes the size limit instead of filling the disk. */
    private static final class LimitedFile implements HttpResponse.BodySubscriber<Path> {
        private final Path file;
        private final long maxBytes;
        private final long declaredBytes;
        private final CompletableFuture<Path> body = new CompletableFuture<>();
        private Flow.Subscription subscription;
        private FileChannel channel;
        private long written;

        LimitedFile(Path file, long maxBytes, long declaredBytes) {
            this.file = file;
            this.maxBytes = maxBytes;
            this.declaredBytes = declaredBytes;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (declaredBytes > maxBytes) {
                fail(tooLarge(declaredBytes + " bytes"));
                return;
            }
            try {
                channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            } catch (IOException e) {
                fail(e);
                return;
            }
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            try {
                for (ByteBuffer b : buffers) {
                    written += b.remaining();
                    if (written > maxBytes) {
                        fail(tooLarge("more than " + maxBytes + " bytes"));
                        return;
                    }
                    while (b.hasRemaining()) {
                        channel.write(b);
                    }
                }
                subscription.request(1);
            } catch (IOException e) {
                fail(e);
            }
        }

        @Override
        public void onError(Throwable t) {
            close();
            body.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            close();
            body.complete(file);
        }

        @Override
        public CompletionStage<Path> getBody() {
            return body;
        }

        private FetchException tooLarge(String size) {
            return new FetchException("the file is " + size + ", over the limit of " + maxBytes + " bytes (" + MAX_BYTES_VARIABLE + ")",
                    true, null);
        }

        private void fail(Throwable t) {
            subscription.cancel();
            close();
            body.completeExceptionally(t);
        }

        private void close() {
            if (channel == null) {
                return;
            }
            try {
                channel.close();
            } catch (IOException e) {
                body.completeExceptionally(e);
            }
        }
    }
}

package dev.pollard.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's Fashion-MNIST (package dataset-fashion-mnist), the dataset of the embedded default: where the package
 * installed it, or else fetched once, without root, into Pollard's cache, so that {@code ./pollard prune} works as
 * the very first command on a machine that has never run anything else.
 */
public final class FashionMnist {
    public static final Path INSTALLED = Path.of("/usr/share/datasets/fashion-mnist");
    static final String PACKAGE = "dataset-fashion-mnist";
    /** The package as Debian 12 ships it, for machines whose apt cannot download (no package lists): checked by sha256. */
    static final String DEB_URL = "http://deb.debian.org/debian/pool/main/d/dataset-fashion-mnist/"
            + "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb";
    static final String DEB_SHA256 = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0";
    static final List<String> FILES = List.of("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");

    private FashionMnist() {
    }

    /** Pollard's own copy: ~/.cache/pollard/datasets/fashion-mnist. */
    public static Path cached() {
        return Path.of(System.getProperty("user.home"), ".cache", "pollard", "datasets", "fashion-mnist");
    }

    /**
     * The installed dataset, else the cached copy, else a copy fetched now into {@code cache} (saying so on {@code log});
     * a DatasetException saying exactly what to run when it cannot be had.
     */
    public static Path locate(Path installed, Path cache, PrintStream log) {
        if (complete(installed)) {
            return installed;
        }
        if (complete(cache)) {
            return cache;
        }
        log.printf("pollard: %s is not installed (Debian package %s); fetching it into %s (first run only, 31 MB)%n",
                installed, PACKAGE, cache);
        try {
            fetch(cache);
            return cache;
        } catch (IOException | RuntimeException e) {
            throw new DatasetException(installed, "not installed, and fetching Debian's " + PACKAGE + " failed ("
                    + e.getMessage() + "): install it with `sudo apt-get install " + PACKAGE + "`, or pass --dataset DIR");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DatasetException(installed, "fetching Debian's " + PACKAGE + " was interrupted");
        }
    }

    private static boolean complete(Path dir) {
        return FILES.stream().allMatch(f -> Files.isRegularFile(dir.resolve(f)));
    }

    /** The package's files, unpacked with dpkg-deb (no root needed), moved into place whole or not at all. */
    private static void fetch(Path cache) throws IOException, InterruptedException {
        Files.createDirectories(cache.getParent());
        Path work = Files.createTempDirectory(cache.getParent(), ".fetch-");
        try {
            Path deb = download(work);
            run(work, "dpkg-deb", "-x", deb.toString(), work.resolve("root").toString());
            Path unpacked = work.resolve("root").resolve(INSTALLED.toString().substring(1));
            if (!complete(unpacked)) {
                throw new IOException(deb.getFileName() + " does not hold " + String.join(", ", FILES));
            }
            Files.move(unpacked, cache, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            try (var paths = Files.walk(work)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** apt-get download (the machine's own mirror, verified by apt), else the pinned URL verified by its sha256. */
    private static Path download(Path work) throws IOException, InterruptedException {
        try {
            run(work, "apt-get", "download", "-q", PACKAGE);
            try (var files = Files.list(work)) {
                return files.filter(f -> f.getFileName().toString().endsWith(".deb")).findFirst()
                        .orElseThrow(() -> new IOException("apt-get download wrote no .deb"));
            }
        } catch (IOException aptFailed) {
            Path deb = work.resolve(PACKAGE + ".deb");
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
                    .followRedirects(HttpClient.Redirect.NORMAL).build();
            HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(URI.create(DEB_URL))
                    .timeout(Duration.ofMinutes(10)).build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = response.body()) {
                if (response.statusCode() != 200) {
                    throw new IOException("apt-get download failed (" + aptFailed.getMessage() + ") and " + DEB_URL
                            + " answered HTTP " + response.statusCode());
                }
                Files.copy(body, deb);
            }
            String sha = Digests.sha256(deb);
            if (!DEB_SHA256.equals(sha)) {
                throw new IOException(DEB_URL + " has sha256 " + sha + ", not " + DEB_SHA256);
            }
            return deb;
        }
    }

    private static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process process;
        try {
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException(command[0] + " is not available: " + e.getMessage(), e);
        }
        String out = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(10, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish in 10 minutes");
        }
        if (process.exitValue() != 0) {
            List<String> lines = out.strip().lines().toList();
            throw new IOException(String.join(" ", command) + " failed: " + (lines.isEmpty() ? "exit " + process.exitValue()
                    : lines.get(lines.size() - 1)));
        }
    }
}

package dev.pollard.graph;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/**
 * ONNX Runtime sessions as Pollard opens them: with as many intra-op threads as this process may use (in a container,
 * its CPU limit, which the JVM reads from its cgroup), not one per core of the node, which would oversubscribe a
 * worker or server that is limited to a few of them.
 */
public final class OrtSessions {
    private OrtSessions() {
    }

    public static OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(Runtime.getRuntime().availableProcessors());
        return options;
    }
}

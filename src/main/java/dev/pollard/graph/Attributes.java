package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import java.util.Optional;

/** Reading ONNX node attributes with their defaults. */
final class Attributes {
    private Attributes() {
    }

    static Optional<OnnxMl.AttributeProto> find(OnnxMl.NodeProto node, String name) {
        return node.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst();
    }

    static long i(OnnxMl.NodeProto node, String name, long otherwise) {
        return find(node, name).map(OnnxMl.AttributeProto::getI).orElse(otherwise);
    }

    static float f(OnnxMl.NodeProto node, String name, float otherwise) {
        return find(node, name).map(OnnxMl.AttributeProto::getF).orElse(otherwise);
    }

    static String s(OnnxMl.NodeProto node, String name, String otherwise) {
        return find(node, name).map(a -> a.getS().toStringUtf8()).orElse(otherwise);
    }

    /** An ints attribute, or null when absent. */
    static long[] ints(OnnxMl.NodeProto node, String name) {
        return find(node, name).map(a -> a.getIntsList().stream().mapToLong(Long::longValue).toArray()).orElse(null);
    }

    static String label(OnnxMl.NodeProto node) {
        return node.getName().isEmpty() ? node.getOpType() + "(" + String.join(",", node.getOutputList()) + ")" : node.getName();
    }
}

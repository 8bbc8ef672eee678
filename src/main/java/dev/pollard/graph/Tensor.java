package dev.pollard.graph;

import java.util.Arrays;

/** A constant tensor of an ONNX graph: float values (weights) or int64 values (shapes, indices), row-major. */
public record Tensor(long[] dims, float[] floats, long[] longs) {

    public static Tensor ofFloats(long[] dims, float[] values) {
        return new Tensor(dims, values, null);
    }

    public static Tensor ofLongs(long[] dims, long[] values) {
        return new Tensor(dims, null, values);
    }

    public boolean isFloat() {
        return floats != null;
    }

    public long size() {
        return Shapes.elements(dims);
    }

    @Override
    public String toString() {
        return (isFloat() ? "float" : "int64") + Arrays.toString(dims);
    }
}

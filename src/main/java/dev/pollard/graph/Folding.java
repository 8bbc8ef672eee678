package dev.pollard.graph;

import java.util.Arrays;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * Computing small constant tensors at load time, the way shape subgraphs need. A model can declare anything, so
 * errors are IllegalArgumentExceptions, which ShapeInference (the caller) reports as ModelExceptions naming the file
 * and the node.
 */
final class Folding {
    private Folding() {
    }

    /**
     * An elementwise function over constants (broadcast to {@code shape}), computed in double; the result is int64 when
     * {@code integral}, else float. The function gets the inputs' elements at one output position.
     */
    static Tensor elementwise(List<Tensor> inputs, long[] shape, boolean integral, ToDoubleFunction<double[]> function) {
        int n = elements(shape);
        double[] out = new double[n];
        double[] args = new double[inputs.size()];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < args.length; k++) {
                args[k] = at(inputs.get(k), shape, i);
            }
            out[i] = function.applyAsDouble(args);
        }
        if (integral) {
            long[] v = new long[n];
            for (int i = 0; i < n; i++) {
                v[i] = (long) out[i];
            }
            return Tensor.ofLongs(shape, v);
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) out[i];
        }
        return Tensor.ofFloats(shape, v);
    }

    /** The number of values of a shape, refused where {@link Shapes#elements} would overflow into a wrong small count. */
    private static int elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0 || (d > 0 && n > Shapes.MAX_ARRAY / d)) {
                throw new IllegalArgumentException("cannot fold a constant of shape " + Arrays.toString(shape) + ": "
                        + (d < 0 ? "a negative dimension" : "more values than one array holds"));
            }
            n *= d;
        }
        return (int) n;
    }

    /** The element of t that broadcasting maps to flat index i of the output shape. */
    private static double at(Tensor t, long[] shape, int i) {
        long[] dims = t.dims();
        int offset = 0;
        int stride = 1;
        int rest = i;
        for (int d = shape.length - 1; d >= 0; d--) {
            int coordinate = (int) (rest % shape[d]);
            rest /= shape[d];
            int td = d - (shape.length - dims.length);
            if (td >= 0) {
                if (dims[td] != 1) {
                    offset += coordinate * stride;
                }
                stride *= (int) dims[td];
            }
        }
        return t.isFloat() ? t.floats()[offset] : t.longs()[offset];
    }

    static Tensor concat(List<Tensor> parts) {
        int n = Math.toIntExact(parts.stream().mapToLong(Tensor::size).sum());
        long[] v = new long[n];
        int k = 0;
        for (Tensor t : parts) {
            for (int i = 0; i < t.size(); i++) {
                v[k++] = t.isFloat() ? (long) t.floats()[i] : t.longs()[i];
            }
        }
        return Tensor.ofLongs(new long[] {n}, v);
    }

    static Tensor gather1d(Tensor data, Tensor indices, long[] shape) {
        if (data.isFloat() || indices.isFloat() || data.dims().length != 1) {
            throw new IllegalArgumentException("Gather folds int64 indices into an int64 vector, not " + indices + " into " + data);
        }
        long dim = data.dims()[0];
        long[] v = new long[indices.longs().length];
        for (int i = 0; i < v.length; i++) {
            long idx = indices.longs()[i];
            if (idx < -dim || idx >= dim) {
                throw new IllegalArgumentException("Gather index " + idx + " is outside [" + -dim + ", " + dim + ")");
            }
            v[i] = data.longs()[(int) (idx < 0 ? idx + dim : idx)];
        }
        return Tensor.ofLongs(shape, v);
    }
}

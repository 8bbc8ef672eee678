package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;

/** Slice: a range of each listed axis (starts, ends, axes and steps are inputs, clamped as ONNX says). */
final class SliceRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Slice");
    }

    /** Where the slice starts and how many entries it keeps along one axis. */
    private record Range(long first, long count, long step) {
    }

    private static Range range(long dim, long start, long end, long step) {
        long s = start < 0 ? start + dim : start;
        long e = end < 0 ? end + dim : end;
        if (step > 0) {
            s = Math.max(0, Math.min(dim, s));
            e = Math.max(0, Math.min(dim, e));
            return new Range(s, Math.max(0, (e - s + step - 1) / step), step);
        }
        s = Math.max(-1, Math.min(dim - 1, s));
        e = Math.max(-1, Math.min(dim - 1, e));
        return new Range(s, Math.max(0, (s - e + (-step) - 1) / (-step)), step);
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] x = s.in(n, 0);
        long[] starts = s.longsOf(n, 1);
        long[] ends = s.longsOf(n, 2);
        long[] axes = ShapeInference.hasInput(n, 3) ? s.longsOf(n, 3) : LongStream.range(0, starts.length).toArray();
        long[] steps = ShapeInference.hasInput(n, 4) ? s.longsOf(n, 4) : ShapeInference.or(null, starts.length, 1);
        long[] y = x.clone();
        long[] first = new long[x.length];
        long[] step = ShapeInference.or(null, x.length, 1);
        for (int i = 0; i < axes.length; i++) {
            int axis = Shapes.axis(axes[i], x.length);
            Range r = range(x[axis], starts[i], ends[i], steps[i]);
            y[axis] = r.count();
            first[axis] = r.first();
            step[axis] = r.step();
        }
        s.out(n, y);
        Tensor t = s.constant(n.getInput(0));
        if (t != null && x.length == 1 && !t.isFloat()) {
            long[] v = new long[(int) y[0]];
            for (int i = 0; i < v.length; i++) {
                v[i] = t.longs()[(int) (first[0] + i * step[0])];
            }
            s.constant(n, Tensor.ofLongs(y, v));
        }
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        long[] starts = in.get(1).toLongArray();
        long[] ends = in.get(2).toLongArray();
        int rank = x.getShape().dimension();
        long[] axes = in.size() > 3 && in.get(3) != null ? in.get(3).toLongArray() : LongStream.range(0, starts.length).toArray();
        long[] steps = in.size() > 4 && in.get(4) != null ? in.get(4).toLongArray() : null;
        String[] parts = new String[rank];
        Arrays.fill(parts, ":");
        for (int i = 0; i < axes.length; i++) {
            int axis = Shapes.axis(axes[i], rank);
            long step = steps == null ? 1 : steps[i];
            if (step < 1) {
                throw new ModelException("node '" + Attributes.label(n) + "': Slice with step " + step
                        + " is not supported on DJL");
            }
            long dim = x.getShape().get(axis);
            Range r = range(dim, starts[i], ends[i], step);
            parts[axis] = r.first() + ":" + Math.min(dim, r.first() + r.count() * step) + (step == 1 ? "" : ":" + step);
        }
        return x.get(new NDIndex(String.join(",", parts)));
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return 0; // moves data, computes nothing
    }
}

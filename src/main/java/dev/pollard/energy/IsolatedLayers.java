package dev.pollard.energy;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.OrtSessions;
import dev.pollard.graph.ShapeInference;
import dev.pollard.graph.Tensor;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Per-layer energy measured with a hardware meter: every node of a model runs alone in ONNX Runtime, as a one-node
 * model fed inputs of the shapes it sees inside the whole model, repeated inside meter windows until the meter has
 * seen enough updates ({@link Measurements}). The whole model is measured the same way, and the difference between
 * the sum of the layers and the whole is part of the result: running a layer alone leaves out what fusing and
 * caching between layers save, and adds each run's fixed overhead.
 *
 * <p>Nodes that compute only constants (Shape and the arithmetic on its result) are bookkeeping that ONNX Runtime
 * folds away at load; they cost nothing.
 */
public final class IsolatedLayers {
    /** One node's energy and wall time per inference. */
    public record Layer(String node, String opType, double joules, double seconds, double spread) {
    }

    /** Every measured node, the whole model measured alone, and the meter. */
    public record Profile(String meter, int batch, List<Layer> layers, double wholeJoules, double wholeSeconds) {
        public double layerJoules() {
            return layers.stream().mapToDouble(Layer::joules).sum();
        }

        /** (Σ layers − whole) / whole. */
        public double difference() {
            return wholeJoules == 0 ? 0 : (layerJoules() - wholeJoules) / wholeJoules;
        }
    }

    private static final int FLOAT = 1;
    private static final int INT64 = 7;
    private static final int BOOL = 9;

    private IsolatedLayers() {
    }

    /** Measures each node alone and then the whole model; figures are per inference (per sample of the batch). */
    public static Profile measure(OnnxModel model, int batch, EnergyMeter meter, int windows, double minimumSeconds) {
        return measure(model, batch, meter, windows, minimumSeconds, null);
    }

    /** The same for the named nodes only (all nodes when {@code only} is null). */
    public static Profile measure(OnnxModel model, int batch, EnergyMeter meter, int windows, double minimumSeconds,
            Set<String> only) {
        ShapeInference shapes = ShapeInference.infer(model, batch);
        Map<String, Integer> types = elementTypes(model);
        Map<String, OnnxMl.TensorProto> initializers = new HashMap<>();
        model.proto().getGraph().getInitializerList().forEach(t -> initializers.put(t.getName(), t));
        List<Layer> layers = new ArrayList<>();
        for (OnnxMl.NodeProto node : model.nodes()) {
            String name = OnnxModel.label(node);
            if (only != null && !only.contains(name)) {
                continue;
            }
            OnnxModel alone = isolate(model, node, initializers, shapes, types);
            if (alone == null) {
                continue;
            }
            EnergyReading r = run(alone, batch, meter, windows, minimumSeconds, shapes, types);
            layers.add(new Layer(name, node.getOpType(), r.median() / batch, seconds(r) / batch, r.relativeSpread()));
        }
        EnergyReading whole = run(model, batch, meter, windows, minimumSeconds, shapes, types);
        return new Profile(meter.name(), batch, layers, whole.median() / batch, seconds(whole) / batch);
    }

    /** The whole model's joules per inference, measured as one. */
    public static double measureWhole(OnnxModel model, int batch, EnergyMeter meter, int windows, double minimumSeconds) {
        return run(model, batch, meter, windows, minimumSeconds, ShapeInference.infer(model, batch), elementTypes(model))
                .median() / batch;
    }

    private static double seconds(EnergyReading r) {
        return r.windows().stream().mapToDouble(w -> w.seconds() / w.repetitions()).sorted()
                .skip(r.windows().size() / 2).findFirst().orElse(0);
    }

    /** A model of one node: non-constant inputs become graph inputs, constant ones initializers; null for bookkeeping. */
    static OnnxModel isolate(OnnxModel model, OnnxMl.NodeProto node, Map<String, OnnxMl.TensorProto> initializers,
            ShapeInference shapes, Map<String, Integer> types) {
        if (node.getOutputList().stream().allMatch(o -> o.isEmpty() || shapes.constant(o) != null)) {
            return null; // computes only constants (Shape and its arithmetic)
        }
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("isolated").addNode(node);
        boolean computes = false;
        for (String input : new LinkedHashSet<>(node.getInputList())) {
            if (input.isEmpty()) {
                continue;
            }
            if (initializers.containsKey(input)) {
                g.addInitializer(initializers.get(input));
            } else if (shapes.constant(input) != null) {
                g.addInitializer(proto(input, shapes.constant(input), types.getOrDefault(input, INT64)));
            } else {
                g.addInput(value(input, types.getOrDefault(input, FLOAT), shapes.shape(input)));
                computes = true;
            }
        }
        if (!computes) {
            return null;
        }
        for (String output : node.getOutputList()) {
            if (!output.isEmpty()) {
                g.addOutput(value(output, types.getOrDefault(output, FLOAT), shapes.shape(output)));
            }
        }
        OnnxMl.ModelProto alone = OnnxMl.ModelProto.newBuilder().setIrVersion(model.proto().getIrVersion())
                .addAllOpsetImport(model.proto().getOpsetImportList()).setGraph(g).build();
        return OnnxModel.of(alone, model.source() + "#" + OnnxModel.label(node));
    }

    /** Element types of every value, following the operators that change them; the rest keep their first input's. */
    static Map<String, Integer> elementTypes(OnnxModel model) {
        Map<String, Integer> types = new HashMap<>();
        model.initializers().forEach((name, t) -> types.put(name, t.isFloat() ? FLOAT : INT64));
        model.inputs().forEach(in -> types.put(in.name(), in.elementType()));
        for (OnnxMl.NodeProto node : model.nodes()) {
            int type = switch (node.getOpType()) {
                case "Shape" -> INT64;
                case "Equal", "Less", "Greater" -> BOOL;
                case "Cast" -> (int) attribute(node, "to", FLOAT);
                case "Constant", "ConstantOfShape" -> node.getAttributeList().stream().filter(a -> a.getName().equals("value"))
                        .findFirst().map(a -> a.getT().getDataType()).orElse(FLOAT);
                case "Where" -> types.getOrDefault(node.getInput(1), FLOAT);
                default -> node.getInputCount() == 0 ? FLOAT : types.getOrDefault(node.getInput(0), FLOAT);
            };
            node.getOutputList().forEach(o -> types.put(o, type));
        }
        return types;
    }

    private static long attribute(OnnxMl.NodeProto node, String name, long otherwise) {
        return node.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst()
                .map(OnnxMl.AttributeProto::getI).orElse(otherwise);
    }

    private static EnergyReading run(OnnxModel model, int batch, EnergyMeter meter, int windows, double minimumSeconds,
            ShapeInference shapes, Map<String, Integer> types) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try (OrtSession session = env.createSession(model.proto().toByteArray(), OrtSessions.options())) {
            Random random = new Random(1);
            for (OnnxMl.ValueInfoProto in : model.proto().getGraph().getInputList()) {
                feeds.put(in.getName(), tensor(env, random, types.getOrDefault(in.getName(), FLOAT), shapes.shape(in.getName())));
            }
            return Measurements.measure(meter, repetitions -> {
                try {
                    for (int i = 0; i < repetitions; i++) {
                        session.run(feeds).close();
                    }
                } catch (OrtException e) {
                    throw new EnergyMeterException("ONNX Runtime could not run " + model.source() + ": " + e.getMessage());
                }
            }, windows, minimumSeconds);
        } catch (OrtException e) {
            throw new EnergyMeterException("ONNX Runtime could not load " + model.source() + ": " + e.getMessage());
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** Random data: floats in [0, 1), small non-negative integers (valid indices for embeddings and gathers), booleans. */
    private static OnnxTensor tensor(OrtEnvironment env, Random random, int type, long[] shape) throws OrtException {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        return switch (type) {
            case INT64 -> {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = random.nextInt(2);
                }
                yield OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(v), shape);
            }
            case BOOL -> {
                boolean[] flat = new boolean[n];
                for (int i = 0; i < n; i++) {
                    flat[i] = random.nextBoolean();
                }
                ByteBuffer bytes = ByteBuffer.allocateDirect(n).order(ByteOrder.nativeOrder());
                for (boolean b : flat) {
                    bytes.put((byte) (b ? 1 : 0));
                }
                bytes.rewind();
                yield OnnxTensor.createTensor(env, bytes, shape, ai.onnxruntime.OnnxJavaType.BOOL);
            }
            default -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = random.nextFloat();
                }
                yield OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(v), shape);
            }
        };
    }

    private static OnnxMl.ValueInfoProto value(String name, int type, long[] shape) {
        OnnxMl.TensorShapeProto.Builder s = OnnxMl.TensorShapeProto.newBuilder();
        for (long d : shape) {
            s.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type).setShape(s))).build();
    }

    /** A folded constant as an initializer of the type the graph gives it. */
    private static OnnxMl.TensorProto proto(String name, Tensor t, int type) {
        OnnxMl.TensorProto.Builder p = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(type);
        for (long d : t.dims()) {
            p.addDims(d);
        }
        int n = (int) t.size();
        ByteBuffer raw = ByteBuffer.allocate(n * (type == BOOL ? 1 : type == FLOAT ? 4 : 8)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            double v = t.isFloat() ? t.floats()[i] : t.longs()[i];
            switch (type) {
                case BOOL -> raw.put((byte) (v != 0 ? 1 : 0));
                case FLOAT -> raw.putFloat((float) v);
                default -> raw.putLong((long) v);
            }
        }
        return p.setRawData(ByteString.copyFrom(raw.array())).build();
    }
}

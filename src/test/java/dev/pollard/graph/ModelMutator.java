package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;

/**
 * Seeded mutations of an ONNX model's structure: the lies about sizes and types that random byte flips of a protobuf
 * seldom produce (dims of 1e9 over four values, raw_data cut short, a data type that does not match the data, an
 * Identity without inputs), each leaving a well-formed protobuf for the loader to judge.
 */
public final class ModelMutator {
    private static final long[] DIMS = {-1, 0, 1, 3, 7, 1_000_000_000L, 1L << 31, 3_000_000_000L, 1L << 32, 1L << 62, Long.MAX_VALUE,
        Long.MIN_VALUE};
    private static final int[] TYPES = {0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 16, 99};

    private final Random random;

    public ModelMutator(Random random) {
        this.random = random;
    }

    /** One to three structural mutations of the model, serialised. */
    public byte[] mutate(OnnxMl.ModelProto model) {
        OnnxMl.ModelProto.Builder m = model.toBuilder();
        OnnxMl.GraphProto.Builder g = m.getGraphBuilder();
        for (int round = 1 + random.nextInt(3); round > 0; round--) {
            switch (random.nextInt(8)) {
                case 0 -> dims(g);
                case 1 -> {
                    if (g.getInitializerCount() > 0) {
                        pickInitializer(g).setDataType(TYPES[random.nextInt(TYPES.length)]);
                    }
                }
                case 2 -> cutData(g);
                case 3 -> {
                    if (g.getInitializerCount() > 0) {
                        pickInitializer(g).setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL);
                    }
                }
                case 4 -> {
                    if (g.getNodeCount() > 0) {
                        OnnxMl.NodeProto.Builder n = g.getNodeBuilder(random.nextInt(g.getNodeCount()));
                        switch (random.nextInt(3)) {
                            case 0 -> n.clearInput();
                            case 1 -> n.clearOutput();
                            default -> n.setOpType("Identity");
                        }
                    }
                }
                case 5 -> inputDims(g);
                case 6 -> {
                    // an Identity handing out an initializer, as PyTorch ties constants, or a broken one
                    OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType("Identity").setName("tie" + random.nextInt(100));
                    if (g.getInitializerCount() > 0 && random.nextBoolean()) {
                        n.addInput(g.getInitializer(random.nextInt(g.getInitializerCount())).getName());
                    }
                    if (random.nextBoolean()) {
                        n.addOutput("tied" + random.nextInt(100));
                    }
                    g.addNode(n);
                }
                default -> {
                    if (random.nextBoolean()) {
                        g.clearNode();
                    } else {
                        g.clearInitializer();
                    }
                }
            }
        }
        return m.build().toByteArray();
    }

    private OnnxMl.TensorProto.Builder pickInitializer(OnnxMl.GraphProto.Builder g) {
        return g.getInitializerBuilder(random.nextInt(g.getInitializerCount()));
    }

    private void dims(OnnxMl.GraphProto.Builder g) {
        if (g.getInitializerCount() == 0) {
            return;
        }
        OnnxMl.TensorProto.Builder t = pickInitializer(g);
        long dim = DIMS[random.nextInt(DIMS.length)];
        switch (random.nextInt(3)) {
            case 0 -> {
                if (t.getDimsCount() > 0) {
                    t.setDims(random.nextInt(t.getDimsCount()), dim);
                }
            }
            case 1 -> t.addDims(dim);
            default -> t.clearDims();
        }
    }

    /** Fewer values than the dims declare, or the same values moved to raw_data (where lengths are in bytes). */
    private void cutData(OnnxMl.GraphProto.Builder g) {
        if (g.getInitializerCount() == 0) {
            return;
        }
        OnnxMl.TensorProto.Builder t = pickInitializer(g);
        if (!t.getRawData().isEmpty()) {
            t.setRawData(t.getRawData().substring(0, random.nextInt(t.getRawData().size())));
        } else if (t.getFloatDataCount() > 0 && random.nextBoolean()) {
            ByteBuffer raw = ByteBuffer.allocate(t.getFloatDataCount() * 4).order(ByteOrder.LITTLE_ENDIAN);
            t.getFloatDataList().forEach(raw::putFloat);
            t.clearFloatData().setRawData(ByteString.copyFrom(raw.array(), 0, raw.capacity() - 4 * random.nextInt(2)));
        } else if (t.getFloatDataCount() > 0) {
            var kept = List.copyOf(t.getFloatDataList().subList(0, random.nextInt(t.getFloatDataCount())));
            t.clearFloatData().addAllFloatData(kept);
        } else if (t.getInt64DataCount() > 0) {
            var kept = List.copyOf(t.getInt64DataList().subList(0, random.nextInt(t.getInt64DataCount())));
            t.clearInt64Data().addAllInt64Data(kept);
        }
    }

    private void inputDims(OnnxMl.GraphProto.Builder g) {
        if (g.getInputCount() == 0) {
            return;
        }
        OnnxMl.TensorShapeProto.Builder shape = g.getInputBuilder(random.nextInt(g.getInputCount())).getTypeBuilder()
                .getTensorTypeBuilder().getShapeBuilder();
        if (shape.getDimCount() > 0 && random.nextBoolean()) {
            shape.getDimBuilder(random.nextInt(shape.getDimCount())).setDimValue(DIMS[random.nextInt(DIMS.length)]);
        } else {
            shape.clearDim();
        }
    }
}

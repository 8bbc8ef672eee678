package dev.pollard.graph;

import static dev.pollard.testing.OnnxBuilder.in;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import dev.pollard.testing.OnnxBuilder;
import dev.pollard.testing.TinyOnnx;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models whose declared sizes lie: each ends as a one-line ModelException naming the file, and a declaration costs no
 * memory beyond the bytes that back it.
 */
class MalformedModelsTest {
    @TempDir
    Path dir;

    @Test
    void anInitializerDeclaringABillionValuesOverFourIsRefusedBeforeAllocating() {
        byte[] model = withInitializer(floats("W", 4).clearDims().addDims(1_000_000_000L));
        long allocated = allocatedBy(() -> assertThatThrownBy(() -> OnnxModel.parse(model, "big.onnx")).isInstanceOf(ModelException.class)
                .hasMessage("big.onnx: initializer W: dims [1000000000] declare 1000000000 values, the tensor holds 4"));
        assertThat(allocated).as("bytes allocated parsing a 1e9-value declaration over 4 values").isLessThan(16 << 20);
    }

    @Test
    void dimsThatAreNegativeOrOverflowAreRefused() {
        assertThatThrownBy(() -> OnnxModel.parse(withInitializer(floats("W", 4).clearDims().addDims(-4)), "m.onnx"))
                .isInstanceOf(ModelException.class).hasMessage("m.onnx: initializer W: dims [-4] include a negative dimension");
        // 3e9 is negative as an int
        assertThatThrownBy(() -> OnnxModel.parse(withInitializer(floats("W", 4).clearDims().addDims(3_000_000_000L)), "m.onnx"))
                .isInstanceOf(ModelException.class)
                .hasMessage("m.onnx: initializer W: dims [3000000000] are more values than one array holds");
        // 2^32 x 2^32 is 0 as a long
        assertThatThrownBy(() -> OnnxModel.parse(withInitializer(floats("W", 4).clearDims().addDims(1L << 32).addDims(1L << 32)), "m.onnx"))
                .isInstanceOf(ModelException.class)
                .hasMessage("m.onnx: initializer W: dims [4294967296, 4294967296] are more values than one array holds");
    }

    @Test
    void aNameWithALineBreakStillGivesAOneLineMessage() {
        assertThatThrownBy(() -> OnnxModel.parse(withInitializer(floats("W\nrest", 4).clearDims().addDims(-4)), "m.onnx"))
                .isInstanceOf(ModelException.class).hasMessage("m.onnx: initializer W rest: dims [-4] include a negative dimension");
    }

    @Test
    void rawDataShorterOrLongerThanTheDimsIsRefused() {
        OnnxMl.TensorProto.Builder raw = OnnxMl.TensorProto.newBuilder().setName("W").setDataType(1).addDims(4)
                .setRawData(ByteString.copyFrom(new byte[12]));
        assertThatThrownBy(() -> OnnxModel.parse(withInitializer(raw), "m.onnx")).isInstanceOf(ModelException.class)
                .hasMessage("m.onnx: initializer W: dims [4] of data type 1 need 16 bytes of raw_data, the tensor holds 12");
        OnnxMl.TensorProto.Builder ints = OnnxMl.TensorProto.newBuilder().setName("W").setDataType(7).addDims(2).addInt64Data(1);
        assertThatThrownBy(() -> OnnxModel.parse(withInitializer(ints), "m.onnx")).isInstanceOf(ModelException.class)
                .hasMessage("m.onnx: initializer W: dims [2] declare 2 values, the tensor holds 1");
    }

    @Test
    void anIdentityWithoutInputsIsLeftForShapeInferenceToRefuse() throws IOException {
        OnnxMl.ModelProto.Builder b = OnnxMl.ModelProto.parseFrom(TinyOnnx.classifier()).toBuilder();
        b.getGraphBuilder().addNode(OnnxMl.NodeProto.newBuilder().setOpType("Identity").setName("alone").addOutput("nothing"));
        OnnxModel model = OnnxModel.parse(b.build().toByteArray(), "m.onnx");
        assertThatThrownBy(() -> ShapeInference.infer(model, 1)).isInstanceOf(ModelException.class).hasMessageContaining("alone");
    }

    @Test
    void aModelFileOver2GibIsRefusedByNameInsteadOfRunningOutOfMemory() throws IOException {
        Path file = dir.resolve("huge.onnx");
        try (RandomAccessFile sparse = new RandomAccessFile(file.toFile(), "rw")) {
            sparse.setLength(3L << 30); // sparse: no disk space used
        }
        assertThatThrownBy(() -> OnnxModel.read(file)).isInstanceOf(ModelException.class)
                .hasMessage(file + ": 3221225472 bytes; an ONNX file holds at most 2 GiB (larger models keep their weights as "
                        + "external data, which Pollard does not read)");
    }

    @Test
    void latencyInputsWithoutABatchAxisOrWithSymbolicOrHugeDimsAreRefused() {
        assertThatThrownBy(() -> OrtLatency.medianMillis(reluModel(), 1, 0, 1)).isInstanceOf(ModelException.class)
                .hasMessage("relu.onnx: input x: dims [1, 65536, 65536] are more values than one array holds");
        OnnxModel scalar = OnnxModel.of(new OnnxBuilder().input("x").output("y").node("Relu", "relu", in("x"), in("y")).build(), "scalar.onnx");
        assertThatThrownBy(() -> OrtLatency.medianMillis(scalar, 1, 0, 1)).isInstanceOf(ModelException.class)
                .hasMessage("scalar.onnx: input x: a scalar has no batch dimension to measure latency over");
        OnnxModel symbolic = OnnxModel.of(new OnnxBuilder().input("x", -1, -1).output("y").node("Relu", "relu", in("x"), in("y")).build(),
                "symbolic.onnx");
        assertThatThrownBy(() -> OrtLatency.medianMillis(symbolic, 1, 0, 1)).isInstanceOf(ModelException.class)
                .hasMessage("symbolic.onnx: input x: dimension 1 is symbolic besides the batch; export it with a fixed size");
    }

    @Test
    void foldingIntoAShapeWhoseSizeOverflowsIsRefusedRatherThanYieldingAnEmptyTensor() {
        Tensor one = Tensor.ofLongs(new long[0], new long[] {1});
        // 2^62 x 4 is 0 as a long: the unchecked count made an empty tensor that claimed 2^64 values
        assertThatThrownBy(() -> Folding.elementwise(List.of(one, one), new long[] {1L << 62, 4}, true, a -> a[0] + a[1]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cannot fold a constant of shape [4611686018427387904, 4]: more values than one array holds");
    }

    @Test
    void aGatherIndexOutsideItsDataIsRefusedWithTheIndex() {
        Tensor data = Tensor.ofLongs(new long[] {3}, new long[] {1, 28, 28});
        Tensor index = Tensor.ofLongs(new long[0], new long[] {7});
        assertThatThrownBy(() -> Folding.gather1d(data, index, new long[0])).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Gather index 7 is outside [-3, 3)");
    }

    @Test
    void aGroupClaimingMoreUnitsThanItsTensorHasIsRefusedByL2AndSurgery() {
        OnnxModel model = OnnxModel.of(new OnnxBuilder().input("x", -1, 3, 8, 8).output("y").weights("W", false, 4, 3, 3, 3)
                .node("Conv", "conv", in("x", "W"), in("y")).build(), "conv.onnx");
        PruningGroup tooWide = new PruningGroup("conv", "conv-channels", 8, List.of(new PruningGroup.Member("W", 0, 1, "conv",
                PruningGroup.Role.PRODUCER)), 0, 1, List.of("conv"));
        String message = "conv.onnx: tensor W [4, 3, 3, 3] has no 8 units of 1 along axis 0 after offset 0";
        assertThatThrownBy(() -> Surgery.l2(model, tooWide)).isInstanceOf(ModelException.class).hasMessage(message);
        assertThatThrownBy(() -> Surgery.remove(model, tooWide, new int[] {0})).isInstanceOf(ModelException.class).hasMessage(message);
    }

    private static OnnxModel reluModel() {
        return OnnxModel.of(new OnnxBuilder().input("x", -1, 65536, 65536).output("y").node("Relu", "relu", in("x"), in("y")).build(),
                "relu.onnx");
    }

    private static OnnxMl.TensorProto.Builder floats(String name, int count) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(1).addDims(count);
        for (int i = 0; i < count; i++) {
            t.addFloatData(i);
        }
        return t;
    }

    /** TinyOnnx's classifier with one more initializer. */
    private static byte[] withInitializer(OnnxMl.TensorProto.Builder tensor) {
        try {
            OnnxMl.ModelProto.Builder b = OnnxMl.ModelProto.parseFrom(TinyOnnx.classifier()).toBuilder();
            b.getGraphBuilder().addInitializer(tensor);
            return b.build().toByteArray();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    /** Bytes the current thread allocates while running the action: independent of the heap size and the machine's speed. */
    private static long allocatedBy(Runnable action) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        action.run();
        return threads.getCurrentThreadAllocatedBytes() - before;
    }
}

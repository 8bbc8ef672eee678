package dev.pollard.graph;

import static dev.pollard.testing.OnnxBuilder.in;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.pollard.testing.OnnxBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The registry: the operators transformer exports need, each checked against ONNX Runtime; unknown ones refused. */
class OpRulesTest {
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @TempDir
    Path dir;

    @Test
    void everyOperatorHasOneRule() {
        assertThat(OpRules.supported()).contains("Mod", "Range", "Where", "Expand", "Split", "Slice", "Gather",
                "GatherElements", "ReduceSum", "And", "Not", "GreaterOrEqual", "ConstantOfShape", "Conv", "MatMul");
        assertThat(ShapeInference.SUPPORTED).isEqualTo(OpRules.supported());
    }

    /**
     * Split, Mod, Max, Where, Not, Or, strided Slice, ReduceSum, Range, Cast and GatherElements: DJL's values and the
     * inferred shapes equal ONNX Runtime's.
     */
    @Test
    void transformerExportOperatorsRunAsInOnnxRuntime() throws Exception {
        OnnxBuilder b = new OnnxBuilder().input("x", -1, 4, 6);
        b.longs("parts", 2, 2, 2).weights("half", true, 1).longs("start", 0).longs("end", 6).longs("axis2", 2)
                .longs("step", 2).longs("axis1", 1).scalar("zero", 0).scalar("six", 6).scalar("one", 1)
                .weights("table", false, 4, 6).longs("picks", 0, -1, 5, 2, 3, 3, -6, 1).longs("pairs", 4, 2);
        b.node("Split", "split", in("x", "parts"), in("a", "b", "c"), "axis", 2L);
        b.node("Abs", "abs", in("b"), in("b.abs"));
        b.node("Add", "away-from-zero", in("b.abs", "half"), in("divisor"));
        b.node("Mod", "mod", in("a", "divisor"), in("remainder"), "fmod", 1L);
        b.node("Reshape", "pairs", in("picks", "pairs"), in("picks2d"));
        b.node("GatherElements", "gather-elements", in("table", "picks2d"), in("picked"), "axis", 1L);
        b.node("Max", "max", in("remainder", "picked", "c"), in("maxed"));
        b.node("Greater", "positive", in("x", "half"), in("big"));
        b.node("Not", "not", in("big"), in("small"));
        b.node("Neg", "neg", in("x"), in("negated"));
        b.node("Where", "where", in("small", "x", "negated"), in("chosen"));
        b.node("Or", "or", in("big", "small"), in("always"));
        b.node("Cast", "ones", in("always"), in("ones"), "to", 1L);
        b.node("Mul", "keep", in("chosen", "ones"), in("kept"));
        b.node("Slice", "every-other", in("x", "start", "end", "axis2", "step"), in("strided"));
        b.node("ReduceSum", "sum", in("x", "axis1"), in("summed"), "keepdims", 0L);
        b.node("Range", "positions", in("zero", "six", "one"), in("positions"));
        b.node("Cast", "float-positions", in("positions"), in("float.positions"), "to", 1L);
        b.node("Add", "plus-positions", in("summed", "float.positions"), in("placed"));
        for (String out : new String[] {"maxed", "kept", "strided", "placed"}) {
            b.output(out);
        }
        OnnxModel model = OnnxModel.of(b.build(), "transformer-ops");

        int batch = 3;
        float[] x = new float[batch * 4 * 6];
        Random random = new Random(4);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian() * 2;
        }
        ShapeInference shapes = ShapeInference.infer(model, batch);
        try (OrtSession session = ENV.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions());
                OnnxTensor input = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x), new long[] {batch, 4, 6});
                OrtSession.Result expected = session.run(Map.of("x", input));
                GraphExecutor executor = new GraphExecutor(model);
                NDManager scope = NDManager.newBaseManager("PyTorch")) {
            NDList actual = executor.forward(scope, Map.of("x", scope.create(x, new Shape(batch, 4, 6))));
            for (int o = 0; o < model.outputs().size(); o++) {
                String name = model.outputs().get(o);
                OnnxTensor t = (OnnxTensor) expected.get(o);
                assertThat(shapes.shape(name)).as(name).containsExactly(((TensorInfo) t.getInfo()).getShape());
                assertThat(actual.get(o).getShape().getShape()).as(name).containsExactly(((TensorInfo) t.getInfo()).getShape());
                FloatBuffer values = t.getFloatBuffer();
                float[] want = new float[values.remaining()];
                values.get(want);
                TransformerExportsTest.assertClose(actual.get(o).toFloatArray(), want, 1e-5);
            }
        }
    }

    @Test
    void anUnknownOperatorFailsInspectWithOneLineNamingNodeAndOperator() throws Exception {
        OnnxMl.ModelProto proto = OnnxBuilder.smallCnn();
        OnnxMl.GraphProto.Builder g = proto.getGraph().toBuilder();
        g.setNode(2, g.getNode(2).toBuilder().setOpType("Celu"));
        Path odd = Files.write(dir.resolve("odd.onnx"), proto.toBuilder().setGraph(g).build().toByteArray());
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream previous = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = new CommandLine(new InspectCommand()).execute(odd.toString());
        } finally {
            System.setErr(previous);
        }
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .isEqualTo("pollard inspect: " + odd + ": unsupported operator 'Celu' at node 'relu1'" + System.lineSeparator());
    }
}

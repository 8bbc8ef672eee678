package dev.pollard.graph;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Wall-clock latency of a model in ONNX Runtime on this machine's CPU: warm-up runs, then the median of timed runs. */
public final class OrtLatency {
    private OrtLatency() {
    }

    /** Median milliseconds per batch over {@code runs} runs after {@code warmup} runs, with random inputs. */
    public static double medianMillis(OnnxModel model, int batch, int warmup, int runs) throws OrtException {
        return medianMillis(List.of(model), batch, warmup, runs)[0];
    }

    /**
     * The same for several models, their timed runs interleaved (model 1, model 2, model 1, ...) so that load from other
     * processes on a shared machine falls on all of them alike and their ratio stays meaningful.
     */
    public static double[] medianMillis(List<OnnxModel> models, int batch, int warmup, int runs) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OrtSession> sessions = new ArrayList<>();
        List<Map<String, OnnxTensor>> inputs = new ArrayList<>();
        try {
            for (OnnxModel model : models) {
                OrtSession.SessionOptions options = OrtSessions.options();
                // ONNX Runtime's threads spin after a run by default: an idle session's spinning would slow the others
                options.addConfigEntry("session.intra_op.allow_spinning", "0");
                sessions.add(env.createSession(model.proto().toByteArray(), options));
                inputs.add(randomInputs(env, model, batch));
            }
            for (int m = 0; m < models.size(); m++) {
                for (int i = 0; i < warmup; i++) {
                    sessions.get(m).run(inputs.get(m)).close();
                }
            }
            double[][] times = new double[models.size()][runs];
            for (int i = 0; i < runs; i++) {
                for (int m = 0; m < models.size(); m++) {
                    long t0 = System.nanoTime();
                    sessions.get(m).run(inputs.get(m)).close();
                    times[m][i] = (System.nanoTime() - t0) / 1e6;
                }
            }
            double[] medians = new double[models.size()];
            for (int m = 0; m < models.size(); m++) {
                Arrays.sort(times[m]);
                medians[m] = runs % 2 == 1 ? times[m][runs / 2] : (times[m][runs / 2 - 1] + times[m][runs / 2]) / 2;
            }
            return medians;
        } finally {
            inputs.forEach(in -> in.values().forEach(OnnxTensor::close));
            for (OrtSession s : sessions) {
                s.close();
            }
        }
    }

    private static Map<String, OnnxTensor> randomInputs(OrtEnvironment env, OnnxModel model, int batch) throws OrtException {
        Map<String, OnnxTensor> inputs = new HashMap<>();
        Random random = new Random(1);
        for (OnnxModel.Input in : model.inputs()) {
            long[] dims = batchDims(model, in, batch);
            int n = Shapes.checkedElements(dims, model.source() + ": input " + in.name());
            if (in.elementType() == 7) { // int64 token ids
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = random.nextInt(100);
                }
                inputs.put(in.name(), OnnxTensor.createTensor(env, LongBuffer.wrap(v), dims));
            } else {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = random.nextFloat();
                }
                inputs.put(in.name(), OnnxTensor.createTensor(env, FloatBuffer.wrap(v), dims));
            }
        }
        return inputs;
    }

    /** An input's declared dims with the batch in front; every other dim must be fixed to make random data for it. */
    private static long[] batchDims(OnnxModel model, OnnxModel.Input in, int batch) {
        long[] dims = in.dims().clone();
        if (dims.length == 0) {
            throw new ModelException(model.source() + ": input " + in.name() + ": a scalar has no batch dimension to measure latency over");
        }
        dims[0] = batch;
        for (int i = 1; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new ModelException(model.source() + ": input " + in.name() + ": dimension " + i
                        + " is symbolic besides the batch; export it with a fixed size");
            }
        }
        return dims;
    }
}

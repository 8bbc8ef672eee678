package dev.pollard.graph;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/** Wall-clock latency of a model in ONNX Runtime on this machine's CPU: warm-up runs, then the median of timed runs. */
public final class OrtLatency {
    private OrtLatency() {
    }

    /** Median milliseconds per batch over {@code runs} runs after {@code warmup} runs, with random inputs. */
    public static double medianMillis(OnnxModel model, int batch, int warmup, int runs) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try (OrtSession session = env.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions())) {
            Random random = new Random(1);
            for (OnnxModel.Input in : model.inputs()) {
                long[] dims = in.dims().clone();
                dims[0] = batch;
                int n = (int) Shapes.elements(dims);
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
            for (int i = 0; i < warmup; i++) {
                session.run(inputs).close();
            }
            double[] times = new double[runs];
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                session.run(inputs).close();
                times[i] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(times);
            return runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }
}

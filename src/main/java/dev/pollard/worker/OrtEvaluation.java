package dev.pollard.worker;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.pollard.data.Dataset;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.OrtSessions;
import java.nio.FloatBuffer;
import java.util.Map;

/** Top-1 accuracy and cross-entropy of a model in ONNX Runtime, the runtime it is served with. */
public final class OrtEvaluation {
    private OrtEvaluation() {
    }

    public static double accuracy(OnnxModel model, Dataset data, int batchSize) throws OrtException {
        long[] correct = {0};
        forEachBatch(model, data, batchSize, (logits, labels) -> {
            for (int i = 0; i < logits.length; i++) {
                if (argmax(logits[i]) == labels[i]) {
                    correct[0]++;
                }
            }
        });
        return (double) correct[0] / data.size();
    }

    /** Mean cross-entropy of the model's outputs, read as logits, against the labels. */
    public static double loss(OnnxModel model, Dataset data, int batchSize) throws OrtException {
        double[] sum = {0};
        forEachBatch(model, data, batchSize, (logits, labels) -> {
            for (int i = 0; i < logits.length; i++) {
                float[] z = logits[i];
                double max = z[argmax(z)];
                double exp = 0;
                for (float v : z) {
                    exp += Math.exp(v - max);
                }
                sum[0] += max + Math.log(exp) - z[labels[i]];
            }
        });
        return sum[0] / data.size();
    }

    private interface BatchResult {
        void accept(float[][] logits, int[] labels);
    }

    private static void forEachBatch(OnnxModel model, Dataset data, int batchSize, BatchResult result)
            throws OrtException {
        if (data.size() == 0) {
            throw new IllegalArgumentException("no samples to measure the model on (the evaluation split is empty)");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        String input = model.inputs().get(0).name();
        try (OrtSession session = env.createSession(model.proto().toByteArray(), OrtSessions.options())) {
            for (int from = 0; from < data.size(); from += batchSize) {
                Dataset b = data.slice(from, batchSize);
                try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(b.features()), FineTuner.shape(b).getShape());
                        OrtSession.Result out = session.run(Map.of(input, x))) {
                    result.accept((float[][]) out.get(0).getValue(), b.labels());
                }
            }
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int c = 1; c < v.length; c++) {
            if (v[c] > v[best]) {
                best = c;
            }
        }
        return best;
    }
}

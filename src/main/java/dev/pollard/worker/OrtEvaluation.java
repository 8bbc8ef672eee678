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

/** How well a model classifies, in ONNX Runtime, the runtime it is served with. */
public final class OrtEvaluation {
    private OrtEvaluation() {
    }

    /** Top-1 accuracy. */
    public static double accuracy(OnnxModel model, Dataset data, int batchSize) throws OrtException {
        return perSample(model, data, batchSize, (logits, label) -> argmax(logits) == label ? 1 : 0);
    }

    /** Mean cross-entropy of the model's outputs taken as logits. */
    public static double loss(OnnxModel model, Dataset data, int batchSize) throws OrtException {
        return perSample(model, data, batchSize, (logits, label) -> {
            double max = logits[argmax(logits)];
            double sum = 0;
            for (float l : logits) {
                sum += Math.exp(l - max);
            }
            return max + Math.log(sum) - logits[label];
        });
    }

    private interface SampleScore {
        double of(float[] logits, int label);
    }

    /** The mean of a score over every sample, run in batches. */
    private static double perSample(OnnxModel model, Dataset data, int batchSize, SampleScore score) throws OrtException {
        if (data.size() == 0) {
            throw new IllegalArgumentException("no samples to measure accuracy on (the evaluation split is empty)");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        String input = model.inputs().get(0).name();
        double total = 0;
        try (OrtSession session = env.createSession(model.proto().toByteArray(), OrtSessions.options())) {
            for (int from = 0; from < data.size(); from += batchSize) {
                Dataset b = data.slice(from, batchSize);
                try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(b.features()), FineTuner.shape(b).getShape());
                        OrtSession.Result result = session.run(Map.of(input, x))) {
                    float[][] logits = (float[][]) result.get(0).getValue();
                    for (int i = 0; i < logits.length; i++) {
                        total += score.of(logits[i], b.labels()[i]);
                    }
                }
            }
        }
        return total / data.size();
    }

    private static int argmax(float[] values) {
        int best = 0;
        for (int c = 1; c < values.length; c++) {
            if (values[c] > values[best]) {
                best = c;
            }
        }
        return best;
    }
}

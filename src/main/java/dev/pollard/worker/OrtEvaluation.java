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

/** Top-1 accuracy of a model in ONNX Runtime, the runtime it is served with. */
public final class OrtEvaluation {
    private OrtEvaluation() {
    }

    public static double accuracy(OnnxModel model, Dataset data, int batchSize) throws OrtException {
        if (data.size() == 0) {
            throw new IllegalArgumentException("no samples to measure accuracy on (the evaluation split is empty)");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        String input = model.inputs().get(0).name();
        long correct = 0;
        try (OrtSession session = env.createSession(model.proto().toByteArray(), OrtSessions.options())) {
            for (int from = 0; from < data.size(); from += batchSize) {
                Dataset b = data.slice(from, batchSize);
                try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(b.features()), FineTuner.shape(b).getShape());
                        OrtSession.Result result = session.run(Map.of(input, x))) {
                    float[][] logits = (float[][]) result.get(0).getValue();
                    for (int i = 0; i < logits.length; i++) {
                        int best = 0;
                        for (int c = 1; c < logits[i].length; c++) {
                            if (logits[i][c] > logits[i][best]) {
                                best = c;
                            }
                        }
                        if (best == b.labels()[i]) {
                            correct++;
                        }
                    }
                }
            }
        }
        return (double) correct / data.size();
    }
}

package dev.pollard.graph;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Makes some units of a group unread: every consumer's weights for them become zero, so removing the units must leave
 * the model's outputs unchanged. The strongest check of surgery there is.
 */
final class UnreadUnits {
    private UnreadUnits() {
    }

    static OnnxModel zeroConsumers(OnnxModel model, PruningGroup group, int[] units) {
        Map<String, float[]> zeroed = new HashMap<>();
        for (PruningGroup.Member m : group.members()) {
            if (m.role() != PruningGroup.Role.CONSUMER) {
                continue;
            }
            Tensor t = model.initializers().get(m.tensor());
            float[] v = zeroed.getOrDefault(m.tensor(), t.floats().clone());
            long outer = Shapes.elements(Arrays.copyOfRange(t.dims(), 0, m.axis()));
            long row = Shapes.elements(Arrays.copyOfRange(t.dims(), m.axis() + 1, t.dims().length));
            long inner = row * m.span();
            for (long o = 0; o < outer; o++) {
                for (int unit : units) {
                    int from = (int) ((o * t.dims()[m.axis()] + m.offset()) * row + unit * inner);
                    Arrays.fill(v, from, (int) (from + inner), 0f);
                }
            }
            zeroed.put(m.tensor(), v);
        }
        return Surgery.withWeights(model, zeroed);
    }
}

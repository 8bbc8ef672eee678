package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.graph.PruningGroup;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

/** The knapsack step on hand-made fingerprints: what it removes follows from savings and importances alone. */
class KnapsackTest {
    /** No bound of its own on what a step takes from a group (one multiple still stays). */
    private static final ToIntFunction<PruningGroup> ANY = PruningGroup::width;

    private static Pruner.Fingerprint group(String id, double joulesPerUnit, double... importance) {
        return new Pruner.Fingerprint(new PruningGroup(id, "channels", importance.length, List.of(), 0, 1, List.of()),
                joulesPerUnit, importance);
    }

    private static double[] flat(int width, double value) {
        double[] importance = new double[width];
        java.util.Arrays.fill(importance, value);
        return importance;
    }

    @Test
    void takesTheGoalFromTheGroupThatSavesMostPerImportanceLost() {
        // both groups' units are equally important within their group; "cheap" saves 4x more per unit
        var prints = List.of(group("cheap", 4.0, flat(16, 1)), group("dear", 1.0, flat(16, 1)));
        assertThat(Knapsack.plan(prints, 8.0, 2, ANY)).isEqualTo(Map.of("cheap", 2));
    }

    @Test
    void spreadsOverGroupsWhenOneCannotReachTheGoalAlone() {
        // "cheap" can give at most 3 of its 4 multiples (one must stay): 3·2·4 J = 24 J of the 30 J asked
        var prints = List.of(group("cheap", 4.0, flat(8, 1)), group("dear", 1.0, flat(16, 1)));
        assertThat(Knapsack.plan(prints, 30.0, 2, ANY)).isEqualTo(Map.of("cheap", 6, "dear", 6));
    }

    @Test
    void removesTheUnitsWhoseImportanceIsLowestRelativeToTheirGroup() {
        // equal savings; "a" has two units far below its mean, "b" is flat: a's weak pair costs least
        var prints = List.of(group("a", 1.0, 0.1, 0.1, 5, 5, 5, 5), group("b", 1.0, flat(6, 3)));
        assertThat(Knapsack.plan(prints, 2.0, 2, ANY)).isEqualTo(Map.of("a", 2));
    }

    @Test
    void comesAsCloseAsItCanWhenTheGoalIsOutOfReachAndTakesAtLeastOneMultiple() {
        var prints = List.of(group("a", 1.0, flat(8, 1)));
        assertThat(Knapsack.plan(prints, 100.0, 2, ANY)).isEqualTo(Map.of("a", 6));
        assertThat(Knapsack.plan(prints, 0.5, 2, ANY)).isEqualTo(Map.of("a", 2));
        assertThat(Knapsack.plan(List.of(group("narrow", 1.0, flat(3, 1))), 10.0, 2, ANY)).isEmpty();
    }

    @Test
    void costCountsTheWeakestUnitsFirstAndLeavesOneMultiple() {
        double[] cost = Knapsack.cumulativeCost(new double[] {4, 1, 2, 1}, 1, 4);
        assertThat(cost).containsExactly(0, 0.5, 1.0, 2.0); // mean 2: normalised 0.5, 0.5, 1, (2 stays)
        assertThat(Knapsack.cumulativeCost(new double[] {4, 1, 2, 1}, 1, 2)).containsExactly(0, 0.5, 1.0);
    }

    @Test
    void takesNoMoreFromAGroupThanItsRoomAndSpreadsTheRest() {
        // as in the first test "cheap" alone would do, but a step may take only one multiple of it
        var prints = List.of(group("cheap", 4.0, flat(16, 1)), group("dear", 1.0, flat(16, 1)));
        assertThat(Knapsack.plan(prints, 16.0, 2, g -> 2)).isEqualTo(Map.of("cheap", 2, "dear", 2));
    }
}

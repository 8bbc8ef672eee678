package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.graph.PruningGroup;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The removal order on hand-made units: the corrected sign of eq. 3, its two ablations, and group-relative norms. */
class ScoringTest {
    private static List<Scoring.Unit> group(String id, double joulesSaved, double... importance) {
        PruningGroup g = new PruningGroup(id, "channels", importance.length, List.of(), 0, 1, List.of());
        List<Scoring.Unit> units = new ArrayList<>();
        for (int i = 0; i < importance.length; i++) {
            units.add(new Scoring.Unit(g, i, joulesSaved, importance[i]));
        }
        return units;
    }

    private static List<String> order(List<Scoring.Unit> units, double alpha, double beta) {
        return Scoring.rank(units, alpha, beta).stream().map(u -> u.group().id() + u.index()).toList();
    }

    @Test
    void savingMoreEnergyComesFirstAndBeingImportantComesLast() {
        List<Scoring.Unit> units = new ArrayList<>(group("dear", 10, 1, 1));
        units.addAll(group("cheap", 1, 1, 1));
        assertThat(order(units, 0.5, 0.5)).startsWith("dear0", "dear1"); // the seed's eq. 3 would keep these
        List<Scoring.Unit> mixed = group("a", 1, 0.2, 1.8);
        assertThat(order(mixed, 0.5, 0.5)).containsExactly("a0", "a1"); // same saving: the weaker goes first
    }

    @Test
    void betaZeroIsMagnitudeAndAlphaZeroIsEnergyOnly() {
        List<Scoring.Unit> units = new ArrayList<>(group("big", 10, 1.5, 0.5));
        units.addAll(group("small", 1, 0.1, 1.9));
        assertThat(order(units, 1, 0)).containsExactly("small0", "big1", "big0", "small1");
        assertThat(order(units, 0, 1)).startsWith("big0", "big1");
    }

    @Test
    void normsCompareRelativeToTheirGroupsMean() {
        // "wide" is a layer whose norms are all ten times larger; relative to their groups the two orders interleave
        List<Scoring.Unit> units = new ArrayList<>(group("wide", 1, 9, 11));
        units.addAll(group("narrow", 1, 0.8, 1.2));
        assertThat(order(units, 1, 0)).containsExactly("narrow0", "wide0", "wide1", "narrow1");
    }

    @Test
    void aGroupThatMeasuredMoreSensitiveGoesLaterAtTheSameSavingAndNorms() {
        PruningGroup robust = new PruningGroup("robust", "channels", 2, List.of(), 0, 1, List.of());
        PruningGroup fragile = new PruningGroup("fragile", "channels", 2, List.of(), 0, 1, List.of());
        List<Scoring.Unit> units = List.of(new Scoring.Unit(fragile, 0, 1, 1, 16), new Scoring.Unit(fragile, 1, 1, 1, 16),
                new Scoring.Unit(robust, 0, 1, 1, 1), new Scoring.Unit(robust, 1, 1, 1, 1));
        assertThat(order(units, 0.6, 0.4)).containsExactly("robust0", "robust1", "fragile0", "fragile1");
        // forty times the saving for twice the cost: the fragile layer's unit first after all
        List<Scoring.Unit> dearer = List.of(new Scoring.Unit(fragile, 0, 40, 1, 16), new Scoring.Unit(robust, 0, 1, 1, 1));
        assertThat(order(dearer, 0.6, 0.4)).containsExactly("fragile0", "robust0");
    }
}

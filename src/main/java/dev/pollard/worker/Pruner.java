package dev.pollard.worker;

import dev.pollard.api.PruningJobStatus;
import dev.pollard.data.Dataset;
import dev.pollard.energy.ModelEnergy;
import dev.pollard.graph.DependencyGraph;
import dev.pollard.graph.GraphExecutor;
import dev.pollard.graph.NodeCost;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.OrtLatency;
import dev.pollard.graph.PruningGroup;
import dev.pollard.graph.Surgery;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Algorithm 1 of seed 002, with its scoring sign fixed and each layer's accuracy cost measured (see {@link Scoring}
 * and {@link Sensitivity}): while the model uses more energy than the budget, remove a step of the highest-priority
 * units (no more than the budget still needs), fine-tune briefly, evaluate; a step that leaves ε gets a second round
 * of fine-tuning, and if it still costs more accuracy than ε it is rolled back, the balance shifts toward accuracy and
 * the next step takes at most half of what the undone one took; a kept step that leaves more than half of ε unused
 * grows the next one (up to {@link #LARGEST_STEP}), so that steps do not shrink with the model while accuracy has
 * room; no group loses more than {@link #MAX_GROUP_SHARE} of its units in one step, and none less than one multiple;
 * a group whose one-multiple step was rolled back is frozen for the rest of the run; the run stops when the budget is
 * met, when every group is frozen or at its minimum width, or when the fine-tuning rounds reach the iteration limit.
 * An attention-head group's unit is one head (already many features): it loses whole heads, one at a time at least,
 * scored by each head's importance and the energy one head saves; the channel multiple applies to channels and
 * neurons.
 */
public final class Pruner {
    /** The largest step a run grows to: the largest the PruningJob's stepFraction admits. */
    static final double LARGEST_STEP = 0.5;

    /**
     * The largest share of one group's units a step may take. Measured on the VGG-style CNN of bench/table1
     * (docs/results.md): without a bound, energy-aware steps took most of one layer at once and accuracy fell off a
     * cliff that fine-tuning could not climb back.
     */
    static final double MAX_GROUP_SHARE = 0.25;

    /** How a run prunes. {@code maxJoules} wins over {@code targetReduction} when set. */
    public record Settings(double targetReduction, Double maxJoules, double epsilon, String criterion, double alpha,
            double beta, double stepFraction, double stepGrowth, int channelMultiple, int maxIterations,
            FineTuner.Settings fineTuning) {
    }

    /** Called after each step with (iteration, joules per inference, accuracy). */
    public interface Progress {
        void step(int iteration, double joules, double accuracy);
    }

    private final ModelEnergy meter;
    private final Dataset train;
    private final Dataset eval;
    private final Settings settings;
    private final String input;
    private final PrintStream log;
    /** Each group's width in the model the run started from, which its multiple is chosen by. */
    private final Map<String, Integer> denseWidths = new HashMap<>();
    /** The training samples each step's {@link Sensitivity} probe reads; null without a training split. */
    private final Dataset probeSample;
    /** The last model probed and its readings: after a rollback the next step plans on the same model again. */
    private OnnxModel probed;
    private Map<String, Double> readings;

    public Pruner(ModelEnergy meter, Dataset train, Dataset eval, Settings settings, String input, PrintStream log) {
        this.meter = meter;
        this.train = train;
        this.eval = eval;
        this.settings = settings;
        this.input = input;
        this.log = log;
        this.probeSample = train == null ? null : Sensitivity.sample(train, settings.fineTuning().seed());
    }

    /** Joules per inference of a model, from the run's meter. */
    double joules(OnnxModel model) {
        return meter.joules(model);
    }

    /** Everything the report says of a model but its latency, which {@link #latencies} measures for several at once. */
    public PruningJobStatus.ModelMetrics measure(OnnxModel model) throws Exception {
        PruningJobStatus.ModelMetrics m = new PruningJobStatus.ModelMetrics();
        List<NodeCost> costs = NodeCost.of(model, 1);
        m.accuracy = OrtEvaluation.accuracy(model, eval, 500);
        m.joulesPerInference = joules(model);
        m.meter = meter.name();
        m.parameters = costs.stream().mapToLong(NodeCost::parameters).sum();
        m.bytes = (long) model.proto().getSerializedSize();
        m.flops = costs.stream().mapToLong(NodeCost::flops).sum();
        return m;
    }

    /**
     * Median ONNX Runtime CPU ms per batch of each model at the serving batch, their runs interleaved so that ratios
     * compare like with like.
     */
    public double[] latencies(OnnxModel... models) throws Exception {
        return OrtLatency.medianMillis(List.of(models), meter.batch(), 3, 10);
    }

    /** The pruned model, with the run's iterations and stop reason recorded in the report. */
    public OnnxModel run(OnnxModel model, Report report, Progress progress) {
        DependencyGraph.groups(model).forEach(g -> denseWidths.put(g.id(), g.width()));
        double base = evaluate(model);
        // the baseline already measured for the report, so that a measuring meter is not asked twice
        double energy = report.baseline != null ? report.baseline.joulesPerInference : joules(model);
        double target = settings.maxJoules() != null ? settings.maxJoules() : (1 - settings.targetReduction()) * energy;
        report.targetJoulesPerInference = target;
        double alpha = settings.alpha();
        double beta = settings.beta();
        double step = settings.stepFraction();
        OnnxModel current = model;
        double accuracy = base;
        int iteration = 0;
        int rounds = 0; // fine-tuning rounds, what maxIterations bounds
        Set<String> frozen = new HashSet<>(); // groups whose smallest step was rolled back: they are at their limit
        log.printf("baseline: accuracy %.4f, %.6g J/inference, target %.6g J (%s)%n", base, energy, target, meter.name());
        while (true) {
            if (energy <= target) {
                report.stopReason = "energy budget met";
                break;
            }
            if (rounds >= settings.maxIterations()) {
                report.stopReason = "iteration limit reached";
                break;
            }
            Map<String, Integer> removal = plan(current, energy, energy - target, alpha, beta, step, frozen);
            Map<String, Integer> multiples = multiples(current);
            if (removal.isEmpty()) {
                report.stopReason = "no admissible step: every group is at its minimum width or lost more than epsilon "
                        + "at its smallest step";
                break;
            }
            iteration++;
            OnnxModel candidate = fineTune(apply(current, removal, alpha, beta), ++rounds);
            double candidateAccuracy = evaluate(candidate);
            int removed = removal.values().stream().mapToInt(Integer::intValue).sum();
            String path = String.format("accuracy %.4f", candidateAccuracy);
            PruningJobStatus.Iteration record = new PruningJobStatus.Iteration();
            record.fineTuningRounds = 1;
            if (candidateAccuracy < base - settings.epsilon() && settings.fineTuning().steps() > 0
                    && rounds < settings.maxIterations()) {
                // fine-tuning heals a step over more than one round: one more before the step is judged
                candidate = fineTune(candidate, ++rounds);
                candidateAccuracy = evaluate(candidate);
                record.fineTuningRounds = 2;
                path += String.format(", fine-tuned again: %.4f", candidateAccuracy);
            }
            double candidateEnergy = joules(candidate);
            record.index = iteration;
            record.channelsRemoved = removed;
            record.accuracy = candidateAccuracy;
            record.joulesPerInference = candidateEnergy;
            record.rolledBack = candidateAccuracy < base - settings.epsilon();
            report.iterations.add(record);
            log.printf("iteration %d: removed %d units, %s, %.6g J/inference%s%n", iteration, removed, path,
                    candidateEnergy, record.rolledBack ? " -> rolled back (accuracy below baseline - epsilon)" : "");
            if (record.rolledBack) {
                // undo the step, lean toward accuracy and take smaller steps: at most half of what the undone step took,
                // which is less than the step fraction asked for where the per-group bound held it back
                alpha = alpha + 0.25 * beta;
                beta = 0.75 * beta;
                double taken = settings.criterion().equals("knapsack") ? 1 - candidateEnergy / energy
                        : (double) removed / units(current, frozen);
                step = Math.min(step, taken) / 2;
                String only = removal.keySet().iterator().next();
                if (removal.size() == 1 && removed == multiples.get(only)) {
                    frozen.addAll(removal.keySet()); // not even one multiple fits: the others may still give some
                }
            } else {
                current = candidate;
                accuracy = candidateAccuracy;
                energy = candidateEnergy;
                if (candidateAccuracy >= base - settings.epsilon() / 2) {
                    step = Math.min(LARGEST_STEP, step * settings.stepGrowth());
                }
            }
            if (progress != null) {
                progress.step(iteration, energy, accuracy);
            }
        }
        log.printf("stopped: %s%n", report.stopReason);
        report.groups = widths(model, current);
        report.groups.stream().filter(g -> g.kind.equals(HEADS) && g.widthAfter < g.widthBefore).forEach(g ->
                log.printf("attention heads of %s: %d of %d removed%n", g.id, g.widthBefore - g.widthAfter, g.widthBefore));
        return current;
    }

    /** Each group's width in the dense model and in the pruned one (heads for a head group). */
    static List<Report.Group> widths(OnnxModel dense, OnnxModel pruned) {
        Map<String, Integer> after = new LinkedHashMap<>();
        DependencyGraph.groups(pruned).forEach(g -> after.put(g.id(), g.width()));
        List<Report.Group> groups = new ArrayList<>();
        for (PruningGroup g : DependencyGraph.groups(dense)) {
            Report.Group r = new Report.Group();
            r.id = g.id();
            r.kind = g.kind();
            r.widthBefore = g.width();
            r.widthAfter = after.getOrDefault(g.id(), g.width());
            groups.add(r);
        }
        return groups;
    }

    static final String HEADS = "attention-heads";

    /**
     * The fewest units a step takes from a group, and what its removals come in multiples of: one head for attention
     * heads, the channel multiple (tensor-core friendly widths) for channels and neurons. A group too narrow for one
     * multiple to be at most {@link #MAX_GROUP_SHARE} of its dense width takes the largest power of two that is (16
     * channels of a ResNet's first stage: 4): with 8, its smallest step would take half the layer.
     */
    int multiple(PruningGroup g) {
        if (g.kind().equals(HEADS)) {
            return 1;
        }
        int m = settings.channelMultiple();
        double quarter = denseWidths.getOrDefault(g.id(), g.width()) * MAX_GROUP_SHARE;
        while (m > 1 && m > quarter) {
            m = Integer.highestOneBit(m - 1); // the next power of two below
        }
        return m;
    }

    private Map<String, Integer> multiples(OnnxModel model) {
        Map<String, Integer> m = new LinkedHashMap<>();
        DependencyGraph.groups(model).forEach(g -> m.put(g.id(), multiple(g)));
        return m;
    }

    /** Units of the groups a step can still take from, as a step counts them (no meter needed to count). */
    private int units(OnnxModel model, Set<String> frozen) {
        return prunable(model, frozen).stream().mapToInt(PruningGroup::width).sum();
    }

    /** The groups that can still lose a whole multiple and are not frozen. */
    private List<PruningGroup> prunable(OnnxModel model, Set<String> frozen) {
        return DependencyGraph.groups(model).stream().filter(g -> g.width() > multiple(g) && !frozen.contains(g.id()))
                .toList();
    }

    /**
     * One group's energy fingerprint (joules saved per unit removed: per head for a head group) and the L2 importance
     * of each of its units.
     */
    record Fingerprint(PruningGroup group, double joulesPerUnit, double[] importance) {
    }

    /**
     * Fingerprints of the groups that can still lose a whole multiple and are not frozen, each from a copy one
     * multiple narrower.
     */
    List<Fingerprint> fingerprints(OnnxModel model, Set<String> frozen) {
        List<Fingerprint> prints = new ArrayList<>();
        for (PruningGroup g : prunable(model, frozen)) {
            prints.add(new Fingerprint(g, meter.joulesPerUnit(model, g, multiple(g)), Surgery.l2(model, g)));
        }
        return prints;
    }

    /**
     * Units to remove per group for one step, never less than one multiple; empty when no group can give one. A step
     * takes no more than the fingerprints say the budget still needs ({@code need} joules): the last step of a run
     * stops at the budget instead of spending accuracy on energy nobody asked to save.
     */
    Map<String, Integer> plan(OnnxModel model, double joules, double need, double alpha, double beta, double step,
            Set<String> frozen) {
        List<Fingerprint> prints = fingerprints(model, frozen);
        return settings.criterion().equals("knapsack")
                ? Knapsack.plan(prints, Math.min(step * joules, need), this::multiple, this::room)
                : planByRank(model, prints, alpha, beta, step, need);
    }

    /**
     * Each group's measured sensitivity, where the ranking weighs accuracy against energy (energy-aware, both α and β
     * above zero) and there are training samples to measure with; otherwise none, and norms alone stand for accuracy.
     */
    private Map<String, Double> sensitivities(OnnxModel model, List<Fingerprint> prints, double alpha, double beta) {
        if (!settings.criterion().equals("energy-aware") || alpha <= 0 || beta <= 0 || probeSample == null
                || prints.isEmpty()) {
            return Map.of();
        }
        if (model == probed) {
            return readings; // a frozen group is only left out of the ranking, not a reason to measure again
        }
        try {
            readings = Sensitivity.probe(model, prints, this::multiple, probeSample);
            probed = model;
            StringBuilder line = new StringBuilder("sensitivity (loss per unit of relative norm):");
            readings.forEach((id, r) -> line.append(String.format(" %s %.3g", id, r)));
            log.println(line);
            return readings;
        } catch (Exception e) {
            throw new IllegalStateException("ONNX Runtime could not measure the groups' sensitivity: " + e.getMessage(), e);
        }
    }

    /** Energy-aware and magnitude: the step's share of all units, taken in the order {@link Scoring} ranks them. */
    private Map<String, Integer> planByRank(OnnxModel model, List<Fingerprint> prints, double alpha, double beta,
            double step, double need) {
        Map<String, Double> sensitivity = sensitivities(model, prints, alpha, beta);
        List<Scoring.Unit> units = new ArrayList<>();
        for (Fingerprint f : prints) {
            for (int i = 0; i < f.group().width(); i++) {
                units.add(new Scoring.Unit(f.group(), i, f.joulesPerUnit(), f.importance()[i],
                        sensitivity.getOrDefault(f.group().id(), 1.0)));
            }
        }
        if (units.isEmpty()) {
            return Map.of();
        }
        // at least one multiple of one group: a step that small which is rolled back freezes its group, where a
        // floor of the channel multiple could take two narrow groups' multiples and repeat that step until the end
        int budget = Math.max(1, (int) Math.ceil(step * units.size()));
        // Walk the ranking and commit a group's units a whole multiple at a time, when the multiple's last unit comes
        // up, until the step's budget is filled. Rounding each group's share down instead leaves a budget spread over
        // many groups with nothing: a ResNet's step then took one multiple from one group, a percent of its energy.
        Map<String, Integer> pending = new LinkedHashMap<>();
        Map<String, Integer> removal = new LinkedHashMap<>();
        int taken = 0;
        double saving = 0;
        for (Scoring.Unit u : Scoring.rank(units, alpha, beta)) {
            if (taken >= budget || saving >= need) {
                break;
            }
            String id = u.group().id();
            int multiple = multiple(u.group());
            if (removal.getOrDefault(id, 0) + multiple > room(u.group())) {
                continue;
            }
            if (pending.merge(id, 1, Integer::sum) == multiple) {
                pending.put(id, 0);
                removal.merge(id, multiple, Integer::sum);
                taken += multiple;
                saving += multiple * u.joulesSaved();
            }
        }
        return removal;
    }

    /** The most units a step may take from one group: whole multiples, at least one, and one multiple always stays. */
    int room(PruningGroup g) {
        int m = multiple(g);
        return Math.min(g.width() - m, Math.max(m, (int) (g.width() * MAX_GROUP_SHARE) / m * m));
    }

    /** Removes, from each group, its lowest-priority-to-keep units (the highest removal priority first). */
    private OnnxModel apply(OnnxModel model, Map<String, Integer> removal, double alpha, double beta) {
        OnnxModel current = model;
        for (var e : removal.entrySet()) {
            PruningGroup g = DependencyGraph.groups(current).stream().filter(x -> x.id().equals(e.getKey())).findFirst().orElseThrow();
            double[] importance = Surgery.l2(current, g);
            // within one group every unit saves the same energy: the least important go
            current = Surgery.remove(current, g, weakest(importance, e.getValue()));
        }
        return current;
    }

    /** The indices of the {@code n} smallest norms, ties to the lower index, in ascending index order. */
    static int[] weakest(double[] norms, int n) {
        return IntStream.range(0, norms.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> norms[i]).thenComparingInt(i -> i))
                .limit(n).mapToInt(Integer::intValue).sorted().toArray();
    }

    /**
     * One round of fine-tuning. Each round draws its batches in an order of its own (the seed plus the round's
     * number), so that a run's brief fine-tunings together see the whole training split instead of its first few
     * batches again and again; the run stays deterministic.
     */
    private OnnxModel fineTune(OnnxModel model, int round) {
        FineTuner.Settings tuning = settings.fineTuning();
        if (tuning.steps() == 0) {
            return model;
        }
        try (GraphExecutor executor = new GraphExecutor(model)) {
            FineTuner.train(executor, input, train, tuning.withSeed(tuning.seed() + round), null);
            return Surgery.withWeights(model, executor.weights());
        }
    }

    /** ONNX Runtime accuracy, with its checked exception turned into an unchecked one for the loop. */
    private double evaluate(OnnxModel model) {
        try {
            return OrtEvaluation.accuracy(model, eval, 500);
        } catch (ai.onnxruntime.OrtException e) {
            throw new IllegalStateException("ONNX Runtime could not evaluate the model: " + e.getMessage(), e);
        }
    }
}

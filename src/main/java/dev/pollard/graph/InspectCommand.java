package dev.pollard.graph;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code pollard inspect}: the pruning groups of a model with their width, parameters and FLOPs. */
@Command(name = "inspect", description = "List a model's pruning groups (units removed together), their width, "
        + "parameters and FLOPs.")
public class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "ONNX model file.")
    Path model;

    @Override
    public Integer call() {
        try {
            OnnxModel m = OnnxModel.load(model);
            List<NodeCost> costs = NodeCost.of(m, 1);
            List<PruningGroup> groups = DependencyGraph.groups(m);
            System.out.printf("%s: opset %d, %d nodes, %d parameters, %.1f MFLOPs per inference%n", model, m.opset(),
                    m.nodes().size(), costs.stream().mapToLong(NodeCost::parameters).sum(),
                    costs.stream().mapToLong(NodeCost::flops).sum() / 1e6);
            System.out.printf("%-40s %-16s %6s %12s %12s%n", "group", "kind", "width", "parameters", "MFLOPs");
            for (PruningGroup g : groups) {
                double mflops = g.flops(costs) / 1e6;
                System.out.printf("%-40s %-16s %6d %12d %12.1f%n", g.id(), g.kind(), g.width(), g.parameters(), mflops);
            }
            System.out.printf("%d prunable groups, %d units%n", groups.size(), groups.stream().mapToInt(PruningGroup::width).sum());
            return 0;
        } catch (ModelException e) {
            System.err.println("pollard inspect: " + e.getMessage());
            return 2;
        }
    }
}

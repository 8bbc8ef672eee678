"""The peer row of bench/table1: the same trained ONNX CNN pruned by Torch-Pruning (group L2 magnitude).

Loads Pollard's ONNX CNN (Conv/BatchNormalization/Relu/MaxPool/Flatten/Gemm), or with --arch resnet20 the ResNet-20
that bench/pytorch_resnet20.py exported (BatchNorms folded into the convolutions, as PyTorch's exporter writes it; the
same network is pruned and fine-tuned folded, as Pollard does), into PyTorch, prunes it with
Torch-Pruning's MetaPruner and GroupMagnitudeImportance(p=2) in equal steps, fine-tunes after every step with Pollard's
settings (Adam, the same learning rate and schedule, batch 128, weight decay 1e-4, the same number of steps; in
PyTorch's training mode, so BatchNorm uses batch statistics, as Pollard's fine-tuning does) and asks Pollard's own analytical
meter (`pollard profile`) for the energy of every candidate, exported back to ONNX with its BatchNormalization nodes
kept so both sides are costed alike.

  --mode target:   stop at the first step that meets the energy target (the Table 1 row at T)
  --mode frontier: every step up to --max-ratio; keep the last model within epsilon of the baseline

The accuracy printed here steers the loop only; bench/table1 evaluates the written model with Pollard.
"""
import argparse
import copy
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch_pruning as tp
from onnx import numpy_helper


def load_onnx_cnn(path):
    """nn.Sequential with the ONNX model's weights, for the layer sequence Pollard's CNNs use."""
    graph = onnx.load(path).graph
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    layers = []
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            w = weights[node.input[1]]
            conv = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), padding=tuple(attrs.get("pads", [0, 0])[:2]))
            conv.weight.data, conv.bias.data = w, weights[node.input[2]]
            layers.append(conv)
        elif node.op_type == "BatchNormalization":
            scale = weights[node.input[1]]
            bn = nn.BatchNorm2d(scale.shape[0], eps=attrs.get("epsilon", 1e-5))
            bn.weight.data, bn.bias.data = scale, weights[node.input[2]]
            bn.running_mean.data, bn.running_var.data = weights[node.input[3]], weights[node.input[4]]
            layers.append(bn)
        elif node.op_type == "Relu":
            layers.append(nn.ReLU())
        elif node.op_type == "MaxPool":
            layers.append(nn.MaxPool2d(tuple(attrs["kernel_shape"]), tuple(attrs["strides"])))
        elif node.op_type == "Flatten":
            layers.append(nn.Flatten())
        elif node.op_type == "Gemm":
            w = weights[node.input[1]]
            if not attrs.get("transB", 0):
                w = w.t()
            fc = nn.Linear(w.shape[1], w.shape[0])
            fc.weight.data, fc.bias.data = w.contiguous(), weights[node.input[2]]
            layers.append(fc)
        else:
            sys.exit(f"torch_pruning_peer: {path}: operator {node.op_type} is not one of Pollard's CNN layers")
    return nn.Sequential(*layers), graph.input[0].name, [n.op_type for n in graph.node]


def load_onnx_resnet20(path):
    """bench/pytorch_resnet20.py's ResNet20 with the export's folded weights: convolutions with biases, no BatchNorm."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from pytorch_resnet20 import ResNet20
    model = ResNet20()
    for module in list(model.modules()):
        for child, layer in list(module.named_children()):
            if isinstance(layer, nn.BatchNorm2d):
                setattr(module, child, nn.Identity())
            elif isinstance(layer, nn.Conv2d):
                setattr(module, child, nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                                                 layer.padding, bias=True))
    graph = onnx.load(path).graph
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    modules = dict(model.named_modules())
    for node in graph.node:
        if node.op_type in ("Conv", "Gemm"):
            # the exporter names a node by its module's path: /layers/layers.3/shortcut/shortcut.0/Conv
            parts = node.name.strip("/").split("/")[:-1]
            module_path = ".".join(p for i, p in enumerate(parts) if not (i + 1 < len(parts) and parts[i + 1].startswith(p + ".")))
            layer = modules[module_path]
            layer.weight.data = weights[node.input[1]].clone()
            layer.bias.data = weights[node.input[2]].clone()
    return model, graph.input[0].name, [n.op_type for n in graph.node]


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_mnist(directory):
    """Pixels scaled to [0, 1] as Pollard's IDX reader does."""
    def images(name):
        return torch.from_numpy(idx(f"{directory}/{name}-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)

    def labels(name):
        return torch.from_numpy(idx(f"{directory}/{name}-labels-idx1-ubyte.gz").astype(np.int64))
    return images("train"), labels("train"), images("t10k"), labels("t10k")


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000)) / len(x)


def schedule(step, steps):
    """Pollard's learning-rate factor (FineTuner.schedule): linear warm-up over a tenth of the steps, then cosine to 0."""
    warm = min(steps, max(10, steps // 10))
    return step / warm if step <= warm else 0.5 * (1 + math.cos(math.pi * (step - warm) / (steps - warm)))


def fine_tune(model, x, y, steps, learning_rate, generator):
    model.train()
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    for step in range(1, steps + 1):
        for group in optimiser.param_groups:
            group["lr"] = learning_rate * schedule(step, steps)
        batch = torch.randint(0, len(x), (128,), generator=generator)
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        optimiser.step()


def export(model, input_name, ops, path):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, input_names=[input_name], output_names=["logits"],
                      dynamic_axes={input_name: {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, dynamo=False)
    drop_identities(path)
    exported = [n.op_type for n in onnx.load(path).graph.node]
    if exported != ops:
        sys.exit(f"torch_pruning_peer: the export's operators {exported} differ from the original's {ops}: "
                 "the energy would not compare")


def drop_identities(path):
    """The exporter passes BatchNorm parameters through Identity nodes; read their inputs directly instead."""
    model = onnx.load(path)
    graph = model.graph
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
    outputs = {o.name for o in graph.output}
    keep = [n for n in graph.node if not (n.op_type == "Identity" and n.output[0] not in outputs)]
    for n in keep:
        for i, name in enumerate(n.input):
            while name in alias and name not in outputs:
                name = alias[name]
            n.input[i] = name
    del graph.node[:]
    graph.node.extend(keep)
    onnx.save(model, path)


def joules(pollard, path, hardware, batch):
    """Total joules per inference (per sample of a batch of that size) from Pollard's analytical meter."""
    out = subprocess.run([pollard, "profile", path, "--hardware", hardware, "--meter", "analytical", "--batch", str(batch)],
                         check=True, capture_output=True, text=True).stdout
    return float(next(line for line in out.splitlines() if line.startswith("total")).split()[3])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--arch", choices=["cnn", "resnet20"], default="cnn", help="what the ONNX file holds")
    p.add_argument("--dataset", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--pollard", default="./pollard")
    p.add_argument("--hardware", default="h100")
    p.add_argument("--serving-batch", type=int, default=32, help="batch energy is measured at, as pollard prune's")
    p.add_argument("--target-reduction", type=float, default=0.4)
    p.add_argument("--epsilon", type=float, default=0.01)
    p.add_argument("--finetune-steps", type=int, default=200)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--step-ratio", type=float, default=0.05, help="channel ratio each step removes")
    p.add_argument("--mode", choices=["target", "frontier"], default="target")
    p.add_argument("--max-ratio", type=float, default=0.95, help="frontier: the largest channel ratio tried")
    p.add_argument("--out", required=True)
    a = p.parse_args()

    torch.manual_seed(42)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    generator = torch.Generator().manual_seed(42)
    model, input_name, ops = (load_onnx_resnet20 if a.arch == "resnet20" else load_onnx_cnn)(a.model)
    x_train, y_train, x_test, y_test = fashion_mnist(a.dataset)
    base_accuracy = accuracy(model, x_test, y_test)
    work = tempfile.mkdtemp(prefix="tp-peer-")
    export(model, input_name, ops, f"{work}/dense.onnx")
    base_joules = joules(a.pollard, f"{work}/dense.onnx", a.hardware, a.serving_batch)
    steps = int(round((a.max_ratio if a.mode == "frontier" else 0.95) / a.step_ratio))
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    pruner = tp.pruner.MetaPruner(model, torch.zeros(1, 1, 28, 28), importance=tp.importance.GroupMagnitudeImportance(p=2),
                                  pruning_ratio=steps * a.step_ratio, iterative_steps=steps, ignored_layers=[last],
                                  round_to=8)
    kept, kept_joules, kept_accuracy, kept_step = copy.deepcopy(model), base_joules, base_accuracy, 0
    for step in range(1, steps + 1):
        pruner.step()
        fine_tune(model, x_train, y_train, a.finetune_steps, a.learning_rate, generator)
        acc = accuracy(model, x_test, y_test)
        export(model, input_name, ops, f"{work}/step.onnx")
        energy = joules(a.pollard, f"{work}/step.onnx", a.hardware, a.serving_batch)
        print(f"torch-pruning step {step}: ratio {step * a.step_ratio:.2f}, accuracy {acc:.4f}, {energy:.6g} J/inference",
              file=sys.stderr)
        if a.mode == "frontier" and acc < base_accuracy - a.epsilon:
            continue  # fine-tuning may recover at the next step: keep going, keep the last model within epsilon
        kept, kept_joules, kept_accuracy, kept_step = copy.deepcopy(model), energy, acc, step
        if a.mode == "target" and energy <= (1 - a.target_reduction) * base_joules:
            break
    export(kept, input_name, ops, a.out)
    print(json.dumps({"steps": kept_step, "baselineAccuracy": base_accuracy, "accuracy": kept_accuracy,
                      "baselineJoules": base_joules, "joules": kept_joules}))


if __name__ == "__main__":
    main()

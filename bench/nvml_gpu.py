#!/usr/bin/env python3
"""Energy per inference of ONNX models running on an NVIDIA GPU, read from NVML's energy counter, with the board's
power as nvidia-smi sampled it over the same windows, for docs/energy.md's GPU validation (bench/nvml-validate.sh).

  nvml_gpu.py measure --out DIR MODEL.onnx...    windows per model, batch and runtime into DIR/windows.jsonl
  nvml_gpu.py calibrate --out DIR MODEL.onnx...  the counter read three ways per window into DIR/calibration.jsonl
  nvml_gpu.py export DIR resnet18 mobilenet_v2   torchvision models as ONNX
  nvml_gpu.py report DIR                         those + DIR/smi.csv + DIR/profile-*.txt -> DIR/table.md

The models run on the GPU through PyTorch: the ONNX graph is executed node by node with torch operators (the
common CNN operators; another operator stops that model with its name), eagerly and replayed as one CUDA graph
(what a tuned server does to remove per-kernel launch cost). ONNX Runtime's CUDA provider is used too where the
installed onnxruntime has it. Windows follow dev.pollard.energy.Measurements and NvmlMeter: one warm-up, repetitions
sized so that a window lasts at least --min-seconds and 10 counter updates, the window begins right after a counter
update, its energy is the counter's rise to the last update inside it, at that rate over the whole window, and the
median of --windows windows is the reading.
"""
import argparse
import ctypes
import datetime
import json
import math
import pathlib
import re
import statistics
import sys
import threading
import time

NVML_SUCCESS = 0


class Nvml:
    """The NVML calls dev.pollard.energy.NvmlLibrary makes, through ctypes: an independent reading of the same board."""

    def __init__(self, index=0, library="libnvidia-ml.so.1"):
        self.lib = ctypes.CDLL(library)
        self._check(self.lib.nvmlInit_v2(), "nvmlInit_v2")
        self.device = ctypes.c_void_p()
        self._check(self.lib.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(self.device)), "GetHandleByIndex")

    def _check(self, code, call):
        if code != NVML_SUCCESS:
            raise RuntimeError(f"NVML {call} failed with code {code}")

    def name(self):
        buffer = ctypes.create_string_buffer(96)
        self._check(self.lib.nvmlDeviceGetName(self.device, buffer, 96), "GetName")
        return buffer.value.decode()

    def driver(self):
        buffer = ctypes.create_string_buffer(96)
        self._check(self.lib.nvmlSystemGetDriverVersion(buffer, 96), "GetDriverVersion")
        return buffer.value.decode()

    def energy_mj(self):
        value = ctypes.c_ulonglong()
        self._check(self.lib.nvmlDeviceGetTotalEnergyConsumption(self.device, ctypes.byref(value)),
                    "GetTotalEnergyConsumption")
        return value.value

    def next_step(self):
        """Waits for the counter's next update; returns its value and the wall time it was seen."""
        before = self.energy_mj()
        while True:
            now = self.energy_mj()
            if now != before:
                return now, time.time()
            time.sleep(0.0002)

    def update_period(self, seconds=2.0):
        """Median time between counter updates while the board idles."""
        value, seen = self.next_step()
        gaps = []
        end = seen + seconds
        while seen < end:
            value, now = self.next_step()
            gaps.append(now - seen)
            seen = now
        return statistics.median(gaps)


class OnnxOnTorch:
    """An ONNX graph run node by node with torch operators on one device."""

    def __init__(self, path, device):
        import onnx
        import torch
        from onnx import numpy_helper
        self.torch = torch
        self.device = device
        self.to_array = numpy_helper.to_array
        model = onnx.load(str(path))
        graph = model.graph
        self.values = {t.name: self.tensor(numpy_helper.to_array(t)) for t in graph.initializer}
        inputs = [i for i in graph.input if i.name not in self.values]
        self.input = inputs[0]
        self.output = graph.output[0].name
        self.nodes = [(n.op_type, list(n.input), list(n.output),
                       {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}) for n in graph.node]
        for op, *_ in self.nodes:
            if not hasattr(self, "op_" + op):
                raise NotImplementedError(f"{path.name}: operator {op} is not supported by this runner")

    def tensor(self, array):
        """Shapes and scalars stay on the CPU: reading them back from a GPU would break a CUDA graph's capture."""
        value = self.torch.from_numpy(array.copy())
        return value if array.dtype.kind in "iu" or array.size <= 1 else value.to(self.device)

    def input_shape(self, batch):
        dims = [d.dim_value for d in self.input.type.tensor_type.shape.dim]
        return [batch] + dims[1:]

    def __call__(self, x):
        env = dict(self.values)
        env[self.input.name] = x
        for op, inputs, outputs, attributes in self.nodes:
            result = getattr(self, "op_" + op)([env[i] if i else None for i in inputs], attributes)
            env[outputs[0]] = result
        return env[self.output]

    def op_Conv(self, i, a):
        pads = a.get("pads", [0, 0, 0, 0])
        if pads[:2] != pads[2:]:
            raise NotImplementedError("asymmetric Conv padding")
        return self.torch.nn.functional.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, a.get("strides", 1),
                                               pads[:2], a.get("dilations", 1), a.get("group", 1))

    def op_BatchNormalization(self, i, a):
        return self.torch.nn.functional.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, a.get("epsilon", 1e-5))

    def op_Relu(self, i, a):
        return self.torch.relu(i[0])

    def op_Clip(self, i, a):
        low = i[1].item() if len(i) > 1 and i[1] is not None else a.get("min")
        high = i[2].item() if len(i) > 2 and i[2] is not None else a.get("max")
        return self.torch.clamp(i[0], low, high)

    def op_MaxPool(self, i, a):
        pads = a.get("pads", [0, 0, 0, 0])
        return self.torch.nn.functional.max_pool2d(i[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]),
                                                   pads[:2], ceil_mode=bool(a.get("ceil_mode", 0)))

    def op_GlobalAveragePool(self, i, a):
        return self.torch.nn.functional.adaptive_avg_pool2d(i[0], 1)

    def op_Constant(self, i, a):
        return self.tensor(self.to_array(a["value"]))

    def op_Identity(self, i, a):
        return i[0]

    def op_Add(self, i, a):
        return i[0] + i[1]

    def op_Flatten(self, i, a):
        return self.torch.flatten(i[0], a.get("axis", 1))

    def op_Gemm(self, i, a):
        weight = i[1].t() if a.get("transB", 0) else i[1]
        x = i[0].t() if a.get("transA", 0) else i[0]
        y = a.get("alpha", 1.0) * (x @ weight)
        return y + a.get("beta", 1.0) * i[2] if len(i) > 2 and i[2] is not None else y

    def op_MatMul(self, i, a):
        return i[0] @ i[1]

    def op_Reshape(self, i, a):
        shape = [int(s) for s in i[1].tolist()]
        shape = [i[0].shape[k] if s == 0 else s for k, s in enumerate(shape)]
        return i[0].reshape(shape)


class StepWatcher(threading.Thread):
    """Dates the counter's steps while a window runs, as dev.pollard.energy.NvmlMeter's watcher does."""

    def __init__(self, nvml):
        super().__init__(daemon=True)
        self.nvml = nvml
        self.last = (nvml.energy_mj(), time.time())
        self.running = True

    def run(self):
        while self.running:
            value = self.nvml.energy_mj()
            if value != self.last[0]:
                self.last = (value, time.time())
            time.sleep(0.002)

    def stop(self):
        self.running = False
        self.join()


def windows(run, nvml, samples_per_run, min_seconds, period, count):
    """Measurements' method: a warm-up, a run count that fills min_seconds and 10 counter updates, count windows,
    each beginning on a counter step and its energy dated by the last step inside it (NvmlMeter's reading)."""
    run(1)
    started = time.perf_counter()
    run(20)
    seconds_per_run = (time.perf_counter() - started) / 20
    runs = max(1, math.ceil(max(min_seconds, 10 * period) * 1.2 / seconds_per_run))
    result = []
    for _ in range(count):
        watcher = StepWatcher(nvml)
        watcher.start()
        start, t0 = nvml.next_step()
        watcher.last = (start, t0)
        run(runs)
        end = nvml.energy_mj()
        t1 = time.time()
        watcher.stop()
        last = watcher.last if watcher.last[0] == end else (end, t1)
        joules = (end - start) % (1 << 64) / 1000.0
        if last[1] > t0:
            joules *= (t1 - t0) / (last[1] - t0)
        result.append({"t0": t0, "t1": t1, "joules": joules, "runs": runs, "samples": runs * samples_per_run})
    return result


def synchronize():
    import torch
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def graph_replay(model, x):
    """The model's kernels captured once as a CUDA graph; running it replays the graph."""
    import torch
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            model(x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        model(x)

    def replay(n):
        for _ in range(n):
            graph.replay()
        torch.cuda.synchronize()
    return replay


def ort_cuda(path, input_name, x):
    """The model in ONNX Runtime's CUDA provider, input copied once, output left on the GPU."""
    import onnxruntime
    session = onnxruntime.InferenceSession(str(path), providers=["CUDAExecutionProvider"])
    if "CUDAExecutionProvider" not in session.get_providers():
        raise RuntimeError(f"ONNX Runtime fell back to {session.get_providers()}")
    binding = session.io_binding()
    binding.bind_cpu_input(input_name, x.cpu().numpy())
    binding.bind_output(session.get_outputs()[0].name, "cuda")

    def run(n):
        for _ in range(n):
            session.run_with_iobinding(binding)
    return run


def export(args):
    """torchvision's resnet18 and mobilenet_v2 (random weights) as ONNX, batch axis dynamic, as fixtures/ exports them."""
    import torch
    import torchvision
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        model = getattr(torchvision.models, name)(weights=None).eval()
        torch.onnx.export(model, torch.randn(1, 3, 224, 224), str(out / f"{name}.onnx"), opset_version=17,
                          input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "batch"}},
                          dynamo=False)


def check(model, path, device):
    """Largest difference between this runner's output and ONNX Runtime's (CPU) on one random batch of 2."""
    import onnxruntime
    import torch
    x = torch.randn(model.input_shape(2))
    with torch.inference_mode():
        ours = model(x.to(device)).cpu().numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {model.input.name: x.numpy()})[0]
    return float(abs(ours - theirs).max())


def measure(args):
    import torch
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    nvml = Nvml()
    period = nvml.update_period()
    rows = []
    meta = {"gpu": nvml.name(), "driver": nvml.driver(), "torch": torch.__version__, "counter_period_s": period}
    try:
        import onnxruntime
        meta["onnxruntime_providers"] = onnxruntime.get_available_providers()
    except ImportError:
        meta["onnxruntime_providers"] = []

    def emit(row):
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k not in ("t0", "t1")}), flush=True)

    for w in windows(lambda n: time.sleep(0.001 * n), nvml, 0, args.min_seconds, period, args.windows):
        emit({"model": "(idle)", "runtime": "none", "batch": 0, **w})
    for path in map(pathlib.Path, args.models):
        try:
            model = OnnxOnTorch(path, args.device)
        except NotImplementedError as e:
            print(f"skipped: {e}", flush=True)
            continue
        meta.setdefault("max_abs_difference_from_onnxruntime_cpu", {})[path.name] = check(model, path, args.device)
        for batch in args.batches:
            x = torch.randn(model.input_shape(batch), device=args.device)
            with torch.inference_mode():
                def eager(n):
                    for _ in range(n):
                        model(x)
                    synchronize()

                runtimes = [("torch-eager", lambda: eager)]
                if args.device == "cuda":
                    runtimes.append(("cuda-graph", lambda: graph_replay(model, x)))
                    if "CUDAExecutionProvider" in meta["onnxruntime_providers"]:
                        runtimes.append(("ort-cuda", lambda: ort_cuda(path, model.input.name, x)))
                for runtime, make in runtimes:
                    try:  # one runtime failing leaves the others' figures
                        for w in windows(make(), nvml, batch, args.min_seconds, period, args.windows):
                            emit({"model": path.name, "runtime": runtime, "batch": batch, **w})
                    except Exception as e:
                        print(f"skipped {runtime} for {path.name} at batch {batch}: {e}", flush=True)
    (out / "windows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta), flush=True)


def calibrate(args):
    """Windows that keep the load on until the counter's next step after their end, so that three readings of one
    window can be compared: the counter read at the window's end (Pollard before the fix), the counter's rise to its
    last step inside the window over the time to that step (Pollard's NvmlMeter now), and the rise from step to step
    over the whole loaded time (the reference), each against nvidia-smi over the same step-to-step time."""
    import torch
    nvml = Nvml()
    loads = [("(idle)", lambda: time.sleep(0.002))]
    for path in map(pathlib.Path, args.models):
        model = OnnxOnTorch(path, "cuda")
        x = torch.randn(model.input_shape(32), device="cuda")
        with torch.inference_mode():
            replay = graph_replay(model, x)
        started = time.perf_counter()
        replay(20)
        runs = max(1, math.ceil(0.002 / ((time.perf_counter() - started) / 20)))
        loads.append((path.name, lambda replay=replay, runs=runs: replay(runs)))
    rows = []
    for name, chunk in loads:
        chunk()
        for length in args.lengths:
            for _ in range(args.windows):
                e0, t0 = nvml.next_step()
                last = (e0, t0)
                while time.time() - t0 < length:
                    chunk()
                    value = nvml.energy_mj()
                    if value != last[0]:
                        last = (value, time.time())
                e1, t1 = nvml.energy_mj(), time.time()
                if e1 != last[0]:
                    last = (e1, t1)
                while True:  # the load goes on to the next step, so that step to step is all loaded
                    chunk()
                    e2 = nvml.energy_mj()
                    if e2 != last[0]:
                        t2 = time.time()
                        break
                row = {"load": name, "length": length, "t0": t0, "t1": t1, "t2": t2, "e0": e0, "e1": e1,
                       "elast": last[0], "tlast": last[1], "e2": e2}
                rows.append(row)
                print(json.dumps(row), flush=True)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def calibration_table(directory, samples):
    path = directory / "calibration.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    groups = {}
    for row in rows:
        groups.setdefault((row["load"], row["length"]), []).append(row)
    lines = ["", "Counter readings of the same windows (load kept on to the next counter step after each window's end; "
             "medians over the windows): read at the end, dated by the last step inside the window, and step to step",
             "", "| load | window s | step to step W | read at end / step to step | dated by last step / step to step "
             "| step to step / nvidia-smi average | step to step / nvidia-smi instant |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (load, length), group in groups.items():
        step = [(r["e2"] - r["e0"]) / 1000 / (r["t2"] - r["t0"]) for r in group]
        end = [(r["e1"] - r["e0"]) / 1000 / (r["t1"] - r["t0"]) / p for r, p in zip(group, step)]
        dated = [(r["elast"] - r["e0"]) / 1000 / (r["tlast"] - r["t0"]) / p for r, p in zip(group, step)]
        smi = []
        for column in (1, 2):
            values = [integrate(samples, r["t0"], r["t2"], column) for r in group]
            smi.append(statistics.median(p * (r["t2"] - r["t0"]) / v for p, r, v in zip(step, group, values))
                       if samples and None not in values else None)
        lines.append(f"| {load} | {length:g} | {statistics.median(step):.1f} | {statistics.median(end):.3f} | "
                     f"{statistics.median(dated):.3f} | " + " | ".join(f"{v:.3f}" if v else "n/a" for v in smi) + " |")
    return lines


def smi_samples(path):
    """nvidia-smi's CSV (timestamp, power.draw, power.draw.instant) as (epoch seconds, average W, instant W)."""
    samples = []
    for line in path.read_text().splitlines():
        parts = [p.strip() for p in line.split(",")]
        try:
            when = datetime.datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
            samples.append((when, float(parts[1]), float(parts[2]) if len(parts) > 2 else float(parts[1])))
        except (ValueError, IndexError):
            continue  # header, "[N/A]"
    return samples


def integrate(samples, t0, t1, column):
    """Joules in [t0, t1] from power samples, trapezoids clipped to the window; None when samples do not cover it."""
    points = [(s[0], s[column]) for s in samples]
    before = [p for p in points if p[0] <= t0]
    after = [p for p in points if p[0] >= t1]
    if not before or not after:
        return None
    chosen = [before[-1]] + [p for p in points if t0 < p[0] < t1] + [after[0]]
    joules = 0.0
    for (ta, pa), (tb, pb) in zip(chosen, chosen[1:]):
        lo, hi = max(ta, t0), min(tb, t1)
        if hi <= lo:
            continue
        slope = (pb - pa) / (tb - ta) if tb > ta else 0.0
        joules += ((pa + slope * (lo - ta)) + (pa + slope * (hi - ta))) / 2 * (hi - lo)
    return joules


def analytical(directory, model, batch):
    """Total joules per inference from `pollard profile` output saved as profile-analytical-MODEL-bBATCH.txt."""
    path = directory / f"profile-analytical-{pathlib.Path(model).stem}-b{batch}.txt"
    if not path.exists():
        return None
    match = re.search(r"^total\s+\S+\s+\S+\s+(\S+)", path.read_text(), re.MULTILINE)
    return float(match.group(1)) if match else None


def report(args):
    directory = pathlib.Path(args.dir)
    smi_path = directory / "smi.csv"
    samples = smi_samples(smi_path) if smi_path.exists() else []
    windows_path = directory / "windows.jsonl"
    rows = [json.loads(line) for line in windows_path.read_text().splitlines()] if windows_path.exists() else []
    meta = json.loads((directory / "meta.json").read_text()) if rows else {}
    groups = {}
    for row in rows:
        groups.setdefault((row["model"], row["runtime"], row["batch"]), []).append(row)
    lines = [] if not rows else [f"GPU {meta['gpu']}, driver {meta['driver']}, torch {meta['torch']}; NVML counter updated every "
             f"{meta['counter_period_s'] * 1000:.0f} ms (median, idle); median of {args.windows} windows each",
             "",
             "| model | runtime | batch | board W (NVML counter) | nvidia-smi W, average | nvidia-smi W, instant "
             "| counter / smi-average | counter / smi-instant | ms per batch | mJ per inference (NVML) "
             "| analytical mJ (h200) | NVML / analytical |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (model, runtime, batch), group in groups.items():
        watts = statistics.median(w["joules"] / (w["t1"] - w["t0"]) for w in group)
        smi = []
        for column in (1, 2):
            values = [integrate(samples, w["t0"], w["t1"], column) for w in group]
            smi.append(statistics.median(v / (w["t1"] - w["t0"]) for v, w in zip(values, group))
                       if samples and None not in values else None)
        ratio = [f"{watts / s:.3f}" if s else "n/a" for s in smi]
        if batch:
            per_inference = statistics.median(w["joules"] / w["samples"] for w in group) * 1000
            ms = statistics.median((w["t1"] - w["t0"]) / w["runs"] for w in group) * 1000
            estimate = analytical(directory, model, batch)
            estimate_text = f"{estimate * 1000:.4f}" if estimate else "n/a"
            versus = f"{per_inference / (estimate * 1000):.1f}x" if estimate else "n/a"
            tail = f"{ms:.3f} | {per_inference:.4f} | {estimate_text} | {versus}"
        else:
            tail = "  |  |  | "
        smi_text = [f"{s:.1f}" if s else "n/a" for s in smi]
        lines.append(f"| {model} | {runtime} | {batch or ''} | {watts:.1f} | {smi_text[0]} | {smi_text[1]} | "
                     f"{ratio[0]} | {ratio[1]} | {tail} |")
    lines += calibration_table(directory, samples)
    lines += ["", "Pollard's own NvmlMeter (JNA, `pollard profile --meter nvml`) while ONNX Runtime runs the model on the CPU, "
              "so the board idles: its joules over its time should be the board's idle power",
              "", "| model | batch | whole model mJ per inference | µs per inference | NvmlMeter W | nvidia-smi W, "
              "average over the run | ratio |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for path in sorted(directory.glob("profile-nvml-*.txt")):
        match = re.search(r"^whole model, measured alone\s+(\S+)\s+(\S+)", path.read_text(), re.MULTILINE)
        if not match:
            lines.append(f"| {path.name}: no whole-model line (see the file) | | | | | | |")
            continue
        joules, micros = float(match.group(1)), float(match.group(2))
        t0, t1 = map(float, path.with_suffix(".time").read_text().split())
        inside = [s[1] for s in samples if t0 <= s[0] <= t1]
        smi_watts = statistics.mean(inside) if inside else None
        model, batch = re.fullmatch(r"profile-nvml-(.+)-b(\d+)\.txt", path.name).groups()
        lines.append(f"| {model} | {batch} | {joules * 1000:.4f} | {micros:.1f} | {joules / (micros * 1e-6):.1f} | "
                     f"{f'{smi_watts:.1f}' if smi_watts else 'n/a'} | "
                     f"{f'{joules / (micros * 1e-6) / smi_watts:.3f}' if smi_watts else 'n/a'} |")
    text = "\n".join(lines) + "\n"
    (directory / "table.md").write_text(text)
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    m = commands.add_parser("measure")
    m.add_argument("--out", required=True)
    m.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    m.add_argument("--windows", type=int, default=3)
    m.add_argument("--min-seconds", type=float, default=1.0)
    m.add_argument("models", nargs="+")
    m.add_argument("--device", default="cuda", help="cpu: a dry run of this script without a GPU")
    c = commands.add_parser("calibrate")
    c.add_argument("--out", required=True)
    c.add_argument("--lengths", type=float, nargs="+", default=[1.0, 4.0])
    c.add_argument("--windows", type=int, default=2)
    c.add_argument("models", nargs="*")
    e = commands.add_parser("export")
    e.add_argument("out")
    e.add_argument("names", nargs="+")
    r = commands.add_parser("report")
    r.add_argument("dir")
    r.add_argument("--windows", type=int, default=3)
    args = parser.parse_args()
    {"measure": measure, "calibrate": calibrate, "export": export, "report": report}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

"""Prints bench/table1's markdown table from Pollard's report.json files.

Arguments: [--latency FILE] NAME@EVAL_REPORT[|RUN_DIR]... — the first is the dense baseline. EVAL_REPORT is the
report of `pollard prune --max-iterations 0` on the row's model (its `result` is the model as measured by Pollard);
RUN_DIR holds the run that produced the model: Pollard's report.json (iterations, rollbacks, stop reason) or the
peer's peer.json. FILE is the output of `pollard latency` over the rows' models: its medians, taken with every model's
runs interleaved, replace the reports' own latencies (each measured alone, so at another moment of a shared machine).
"""
import json
import os
import sys


def main():
    args = sys.argv[1:]
    latency, batch = {}, 128
    if args[:1] == ["--latency"]:
        latency, batch = read_latency(args[1])
        args = args[2:]
    rows = []
    for arg in args:
        name, _, paths = arg.partition("@")
        report, _, run = paths.partition("|")
        with open(report) as f:
            measured = json.load(f)
        result = measured["result"]
        if latency:
            result["latencyMs"] = latency[measured["model"]]
        rows.append((name, result, measured["gridGramsCo2PerKwh"], how(run)))
    dense, grid = rows[0][1], rows[0][2]

    def grams(m):  # g CO2 per million inferences
        return m["joulesPerInference"] * 1e6 / 3.6e6 * grid

    print(f"| configuration | top-1 % | drop (pt) | J/inference | energy saved | ORT ms (b{batch}) | speedup | storage MB "
          "| g CO2 / 1M inf. | carbon cut | run |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, m, _, run in rows:
        print(f"| {name} | {100 * m['accuracy']:.2f} | {100 * (dense['accuracy'] - m['accuracy']):.2f} "
              f"| {m['joulesPerInference']:.4g} | {100 * (1 - m['joulesPerInference'] / dense['joulesPerInference']):.1f}% "
              f"| {m['latencyMs']:.2f} | {dense['latencyMs'] / m['latencyMs']:.2f}x | {m['bytes'] / 1e6:.2f} "
              f"| {grams(m):.4f} | {100 * (1 - grams(m) / grams(dense)):.1f}% | {run} |")


def read_latency(path):
    """Model path -> median ms, and the batch, from `pollard latency`'s table (header, one line per model, a closing line
    that names the batch)."""
    with open(path) as f:
        lines = f.read().splitlines()
    batch = int(lines[-1].split("batch ")[1].split(",")[0])
    return {model: float(ms) for ms, _, model in (line.split(None, 2) for line in lines[1:-1])}, batch


def how(run):
    """Steps, fine-tuning rounds, rollbacks and stop reason of the run that produced a row's model."""
    if not run:
        return "the trained model, dense"
    if os.path.exists(os.path.join(run, "peer.json")):
        with open(os.path.join(run, "peer.json")) as f:
            peer = json.load(f)
        return f"Torch-Pruning 1.6.1, step {peer['steps']} of 0.05 kept (one round a step)"
    with open(os.path.join(run, "report.json")) as f:
        r = json.load(f)
    back = sum(1 for i in r["iterations"] if i["rolledBack"])
    rounds = sum(i.get("fineTuningRounds", 1) for i in r["iterations"])
    return f"{len(r['iterations'])} steps in {rounds} rounds, {back} rolled back; {r['stopReason']}"


if __name__ == "__main__":
    main()

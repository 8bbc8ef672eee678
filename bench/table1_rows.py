"""Prints bench/table1's markdown table from Pollard's report.json files.

Arguments: NAME@EVAL_REPORT[|RUN_DIR]... — the first is the dense baseline. EVAL_REPORT is the report of
`pollard prune --max-iterations 0` on the row's model (its `result` is the model as measured by Pollard); RUN_DIR
holds the run that produced the model: Pollard's report.json (iterations, rollbacks, stop reason) or the peer's
peer.json.
"""
import json
import os
import sys


def main():
    rows = []
    for arg in sys.argv[1:]:
        name, _, paths = arg.partition("@")
        report, _, run = paths.partition("|")
        with open(report) as f:
            measured = json.load(f)
        rows.append((name, measured["result"], measured["gridGramsCo2PerKwh"], how(run)))
    dense, grid = rows[0][1], rows[0][2]

    def grams(m):  # g CO2 per million inferences
        return m["joulesPerInference"] * 1e6 / 3.6e6 * grid

    print("| configuration | top-1 % | drop (pt) | J/inference | energy saved | ORT ms (b128) | speedup | storage MB "
          "| g CO2 / 1M inf. | carbon cut | run |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, m, _, run in rows:
        print(f"| {name} | {100 * m['accuracy']:.2f} | {100 * (dense['accuracy'] - m['accuracy']):.2f} "
              f"| {m['joulesPerInference']:.4g} | {100 * (1 - m['joulesPerInference'] / dense['joulesPerInference']):.1f}% "
              f"| {m['latencyMs']:.2f} | {dense['latencyMs'] / m['latencyMs']:.2f}x | {m['bytes'] / 1e6:.2f} "
              f"| {grams(m):.4f} | {100 * (1 - grams(m) / grams(dense)):.1f}% | {run} |")


def how(run):
    """Iterations, rollbacks and stop reason of the run that produced a row's model."""
    if not run:
        return "trained by `pollard train --arch vgg`"
    if os.path.exists(os.path.join(run, "peer.json")):
        with open(os.path.join(run, "peer.json")) as f:
            peer = json.load(f)
        return f"Torch-Pruning 1.6.1, {peer['steps']} steps"
    with open(os.path.join(run, "report.json")) as f:
        r = json.load(f)
    back = sum(1 for i in r["iterations"] if i["rolledBack"])
    return f"{len(r['iterations'])} iterations, {back} rolled back; {r['stopReason']}"


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Where the operator-scale latencies go: the benchmark's timeline beside the API server's audit log.

    bench/operator-scale-audit.py [DIR]   (default target/operator-scale: timeline.csv and audit.log)

For PruningJob created -> Job created and InferenceDeployment created -> Deployment created, splits each resource's
latency (the benchmark's watch to the benchmark's watch) into four legs by the API server's own timestamps:
  1. the user's create answered -> the benchmark's watch sees it (subtracted: the latency starts at the watch)
  2. the user's create answered -> the operator's create (or apply) received: watch to the operator, its queue, its
     reconciliation, its client
  3. the operator's request received -> answered: the API server's time for it
  4. the operator's request answered -> the benchmark's watch sees the object
Prints p50/p90/p99 of each leg and the mean of each over the slowest 1 % of latencies. Only reads; asserts nothing.
"""
import csv
import datetime
import json
import sys
from pathlib import Path


def seconds(stamp):
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(directory):
    lines = (directory / "timeline.csv").read_text().splitlines()
    origin = seconds(lines[0].split()[-1])
    timeline = list(csv.DictReader(lines[1:]))
    # (owner, resource) -> (received, answered), wall-clock seconds, of the first create or apply of each; a run's Job is
    # named after its PruningJob and a hash, a served Deployment after its InferenceDeployment
    by_name = {}
    with open(directory / "audit.log") as log:
        for line in log:
            event = json.loads(line)
            ref = event.get("objectRef", {})
            name, resource = ref.get("name"), ref.get("resource")
            if not name or event.get("stage") != "ResponseComplete" \
                    or event.get("responseStatus", {}).get("code", 0) >= 300:
                continue
            owner = name.rsplit("-", 1)[0] if resource == "jobs" else name
            by_name.setdefault((owner, resource),
                               (seconds(event["requestReceivedTimestamp"]), seconds(event["stageTimestamp"])))

    for title, user_resource, user_column, own_column, name_prefix, own in (
            ("PruningJob created -> its Job created", "pruningjobs", "pruningjob_added", "job_added", "pj", "jobs"),
            ("InferenceDeployment created -> Deployment created", "inferencedeployments", "inferencedeployment_added",
             "deployment_added", "infd", "deployments")):
        rows = []
        for row in timeline:
            name = f"{name_prefix}-{int(row['resource']):05d}"
            if not row[user_column] or not row[own_column] or (name, user_resource) not in by_name \
                    or (name, own) not in by_name:
                continue
            user, op = by_name[(name, user_resource)], by_name[(name, own)]
            watched_user = origin + float(row[user_column])
            watched_own = origin + float(row[own_column])
            rows.append((watched_own - watched_user, watched_user - user[1], op[0] - user[1], op[1] - op[0],
                         watched_own - op[1], float(row[user_column])))
        if not rows:
            print(f"{title}: no resource found in both the timeline and the audit log")
            continue
        names = ["latency (bench watch -> bench watch)", "1. user's create answered -> bench watch",
                 "2. user's create answered -> operator's request received", "3. operator's request in the API server",
                 "4. operator's request answered -> bench watch"]
        tail = sorted(rows, reverse=True)[:max(1, len(rows) // 100)]
        print(f"\n### {title} ({len(rows)} resources)\n")
        print("| leg, seconds | p50 | p90 | p99 | mean of the slowest 1 % |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for j, leg in enumerate(names):
            values = [r[j] for r in rows]
            print(f"| {leg} | {quantile(values, .5):.3f} | {quantile(values, .9):.3f} | {quantile(values, .99):.3f} "
                  f"| {sum(r[j] for r in tail) / len(tail):.3f} |")
        print("\nThe slowest 1 %, created at (seconds into the run): "
              + ", ".join(f"{r[5]:.0f}" for r in sorted(tail, key=lambda r: r[5])))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "target/operator-scale"))

#!/usr/bin/env python3
"""`"freeze": "auto"` beside the fixed freeze policies on one transfer task: test accuracy (the test images are
used for no choice: validation is a split of the training images) and wall time, mean of several seeds.

Called by bench/freeze-auto.sh with the graft binary; prints one row per policy and the ratios the issue targets
(auto's accuracy minus the best fixed policy's, auto's wall time over the best fixed policy's)."""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(graft, task_args, policy, seed, work):
    out = Path(work) / f"model-{policy.replace(':', '_')}-{seed}"
    command = [graft, "finetune", *task_args, "--freeze", policy, "--seed", str(seed), "--output", str(out)]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        return {"policy": policy, "seed": seed, "failed": (done.stderr.strip().splitlines() or ["?"])[-1],
                "seconds": seconds}
    result = json.loads((out / "evaluation.json").read_text())
    return {"policy": policy, "seed": seed, "test": result["test"]["accuracy"], "seconds": seconds,
            "chosen": result.get("freeze"), "table": done.stdout}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--graft", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--policies", default="backbone,until:layer1_relu2,until:layer2_relu2,none,auto")
    parser.add_argument("--show-table", action="store_true", help="print auto's candidate table for seed 0")
    parser.add_argument("task", nargs=argparse.REMAINDER, help="graft finetune arguments of the task (after --)")
    args = parser.parse_args()
    task = [a for a in args.task if a != "--"]
    rows = {}
    with tempfile.TemporaryDirectory() as work:
        for policy in args.policies.split(","):
            rows[policy] = [run(args.graft, task, policy, seed, work) for seed in range(args.seeds)]
    print(f"{'policy':<22} {'test accuracy (mean)':>21} {'per seed':>26} {'wall s (mean)':>14}  chosen")
    means = {}
    for policy, runs in rows.items():
        ok = [r for r in runs if "test" in r]
        failed = [r for r in runs if "failed" in r]
        accuracy = statistics.mean(r["test"] for r in ok) if ok else float("nan")
        seconds = statistics.mean(r["seconds"] for r in runs)
        means[policy] = (accuracy, seconds)
        chosen = ", ".join(sorted({str(r.get("chosen")) for r in ok})) if policy == "auto" else ""
        per_seed = " ".join(f"{r['test'] * 100:.2f}" if "test" in r else "failed" for r in runs)
        print(f"{policy:<22} {accuracy * 100:>20.2f}% {per_seed:>26} {seconds:>14.2f}  {chosen}")
        for r in failed:
            print(f"    seed {r['seed']} failed: {r['failed']}")
    fixed = {p: m for p, m in means.items() if p != "auto"}
    if "auto" in means and fixed:
        best = max(fixed, key=lambda p: fixed[p][0])
        accuracy, seconds = means["auto"]
        print(f"best fixed policy: {best} ({fixed[best][0] * 100:.2f}%, {fixed[best][1]:.2f} s)")
        print(f"auto - best fixed: {(accuracy - fixed[best][0]) * 100:+.2f} points; "
              f"auto wall time / best fixed: {seconds / fixed[best][1]:.2f}")
        if "backbone" in fixed:
            print(f"auto - backbone: {(accuracy - fixed['backbone'][0]) * 100:+.2f} points")
    if args.show_table and "auto" in rows and "table" in rows["auto"][0]:
        print("\nauto, seed 0:")
        print("\n".join(line for line in rows["auto"][0]["table"].splitlines() if not line.startswith(("class", " "))
                        and "Confusion" not in line))


if __name__ == "__main__":
    sys.exit(main())

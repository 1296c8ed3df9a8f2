"""Evaluation throughput of a trained run under today's code and under an earlier commit, measured in one run on
one machine (the ratio is what counts: this machine is shared and noisy).

    python benchmarks/inference_speed.py "runs/bench/utd_mhad/llmar,_default_seed0" --baseline-commit 7a2fdc0

Each version evaluates the run's whole test split (`llmar.runner.evaluate_run`, as `llmar eval` does) in a
process of its own: the earlier commit from a temporary git worktree, today's from this checkout; the order
alternates over ``--repeats`` and the median time of each is kept. Reported: samples per second of each, their
ratio, and whether the two gave the same predictions (top-1 and the confusion matrix). One JSON line per run in
docs/results/inference.jsonl.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMED = """
import json, sys, tempfile, time
from llmar.runner import evaluate_run
with tempfile.TemporaryDirectory() as out:
    began = time.perf_counter()
    m = evaluate_run(sys.argv[1], out)
    seconds = time.perf_counter() - began
print("RESULT " + json.dumps({"seconds": seconds, "eval_seconds": m["eval_seconds"], "top1": m["top1"],
                              "num_samples": m["num_samples"], "confusion_matrix": m["confusion_matrix"]}))
"""


def timed_eval(src: Path, run: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", TIMED, run], env=env, capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("--baseline-commit", required=True)
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args()
    run = str(Path(args.run).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        baseline = Path(tmp) / "baseline"
        git("worktree", "add", "--detach", str(baseline), args.baseline_commit)
        try:
            times: dict[str, list[dict]] = {"baseline": [], "current": []}
            for r in range(args.repeats):
                order = ("baseline", "current") if r % 2 == 0 else ("current", "baseline")
                for which in order:
                    times[which].append(timed_eval(baseline / "src" if which == "baseline" else REPO / "src", run))
        finally:
            git("worktree", "remove", "--force", str(baseline))
    speed = {k: statistics.median(v["num_samples"] / v["eval_seconds"] for v in runs) for k, runs in times.items()}
    base, cur = times["baseline"][0], times["current"][0]
    cfg_line = next((x for x in (Path(run) / "config.yaml").read_text().splitlines() if "adapters:" in x), "")
    row = {"measurement": "evaluation", "dataset": Path(run).parent.name, "run": args.run,
           "date": datetime.date.today().isoformat(), "commit": git("rev-parse", "--short", "HEAD"),
           "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
           "baseline_commit": args.baseline_commit, "adapters": cfg_line.split(":")[-1].strip(),
           "num_samples": cur["num_samples"], "repeats": args.repeats,
           "baseline_samples_per_second": speed["baseline"], "samples_per_second": speed["current"],
           "speedup": speed["current"] / speed["baseline"], "baseline_top1": base["top1"], "top1": cur["top1"],
           "same_predictions": base["confusion_matrix"] == cur["confusion_matrix"]}
    with (REPO / "docs" / "results" / "inference.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()

"""Do several stage-2 draws on one stage 1 read better together than alone?

    python benchmarks/draw_ensemble.py RUN_A RUN_B RUN_C [--out docs/results/X.jsonl --note "..."]

Each RUN is a trained LLM-AR run on the same data and split (typically the same stage 1, reused with
``real_data.py --stage1-from`` and a different ``train.stage2_seed``). Every run scores every class name of its
test clips; the script prints each run's top-1, and the top-1 of the mean of their class probabilities (a
softmax over each run's name log-likelihoods) for every subset of two or more runs. One JSON line per call.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from llmar.runner import evaluate_run


class KeepScores:
    def on_evaluated(self, model, accelerator, scores, labels, indices) -> None:
        self.scores, self.labels, self.indices = scores, labels, indices


def softmax(scores: np.ndarray) -> np.ndarray:
    s = scores - scores.max(1, keepdims=True)
    p = np.exp(s)
    return p / p.sum(1, keepdims=True)


def run_probabilities(run: str) -> tuple[np.ndarray, np.ndarray]:
    """(class probabilities [N, K], labels [N]) in dataset-index order."""
    keep = KeepScores()
    with tempfile.TemporaryDirectory() as out:
        evaluate_run(run, out, all_scores=True, callbacks=[keep])
    order = np.argsort(keep.indices)
    return softmax(keep.scores[order].astype(np.float64)), keep.labels[order]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", default=None, help="append the JSON line to this file")
    p.add_argument("--note", default="")
    args = p.parse_args()
    probs, labels = [], None
    for run in args.runs:
        pr, y = run_probabilities(run)
        if labels is not None and not np.array_equal(y, labels):
            raise SystemExit(f"{run}: its test clips differ from {args.runs[0]}'s")
        probs.append(pr)
        labels = y
    single = [float((pr.argmax(1) == labels).mean() * 100) for pr in probs]
    subsets = {}
    for size in range(2, len(probs) + 1):
        for combo in itertools.combinations(range(len(probs)), size):
            mean = np.mean([probs[i] for i in combo], 0)
            subsets["+".join(map(str, combo))] = round(float((mean.argmax(1) == labels).mean() * 100), 2)
    row = {"date": time.strftime("%Y-%m-%d"), "runs": [str(Path(r)) for r in args.runs],
           "num_samples": int(len(labels)), "top1_each": [round(s, 2) for s in single],
           "top1_mean_of_each": round(float(np.mean(single)), 2), "top1_ensemble": subsets, "note": args.note}
    line = json.dumps(row)
    print(line)
    if args.out:
        with open(args.out, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()

"""Across datasets: a run trained on one real set names every clip of another among that set's own names
(`llmar eval RUN --data OTHER`), LLM-AR beside the text-embedding baseline trained the same way.

    python benchmarks/cross_dataset.py utd_mhad nw_ucla          # train on UTD-MHAD, name NW-UCLA's clips
    python benchmarks/cross_dataset.py nw_ucla utd_mhad
    python benchmarks/cross_dataset.py --summary

Each model trains on the source set's training split with the recipe `llmar train DATA` derives (LLM-AR: the
run real_data.py tags ``llmar, default``, reused when it exists; gcn_text: tagged ``gcn_text, default``), then
reads every clip of the target set, its joints matched to the source's by name, ranked among the target's
class names (a name the model trained on counts like any other). One JSON line per run in
docs/results/cross_dataset.jsonl.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_data import REPO, data_path, run_dir, run_one  # noqa: E402

from llmar.runner import evaluate_on_other_data  # noqa: E402

TAGS = {"llmar": "llmar, default", "gcn_text": "gcn_text, default"}
OUT = REPO / "docs" / "results" / "cross_dataset.jsonl"


def measure(source: str, target: str, model: str, seed: int) -> dict:
    trained = run_dir(source, TAGS[model], seed)
    if not (trained / "metrics.json").exists():
        run_one(source, model, seed, [], TAGS[model], {}, None, derived=True)
    metrics = evaluate_on_other_data(trained, data_path(target), out_dir=trained / f"eval_on_{target}")
    source_metrics = json.loads((trained / "metrics.json").read_text())
    row = {"source": source, "target": target, "model": model, "seed": seed, "date": datetime.date.today().isoformat(),
           "run": str(trained.relative_to(REPO)), "source_test_top1": source_metrics["top1"],
           **{k: metrics[k] for k in ("top1", "top5", "mean_class_accuracy", "chance", "num_samples", "eval_seconds",
                                      "per_class_accuracy")}}
    with OUT.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))
    return row


def summary() -> str:
    rows = [json.loads(line) for line in OUT.read_text().splitlines() if line.strip()] if OUT.exists() else []
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["source"], r["target"], r["model"]), []).append(r)
    lines = ["| trained on | named among | model | seeds | top-1 % | top-5 % | mean class acc % | chance % |",
             "|---|---|---|---|---|---|---|---|"]

    def ms(group, key):
        vals = [100 * r[key] for r in group]
        return f"{statistics.mean(vals):.1f}" + (f" ± {statistics.stdev(vals):.1f}" if len(vals) > 1 else "")

    for (source, target, model), group in groups.items():
        lines.append(f"| {source} | {target} ({len(group[0]['per_class_accuracy'])} names) | {model} | {len(group)} | "
                     f"{ms(group, 'top1')} | {ms(group, 'top5')} | {ms(group, 'mean_class_accuracy')} | "
                     f"{ms(group, 'chance')} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", nargs="?", choices=["utd_mhad", "nw_ucla"])
    p.add_argument("target", nargs="?", choices=["utd_mhad", "nw_ucla"])
    p.add_argument("--models", nargs="+", default=["llmar", "gcn_text"], choices=list(TAGS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--summary", action="store_true")
    args = p.parse_args()
    if not args.summary:
        if not args.source or not args.target:
            p.error("SOURCE and TARGET are needed unless --summary")
        for seed in args.seeds:
            for model in args.models:
                measure(args.source, args.target, model, seed)
    print(summary())


if __name__ == "__main__":
    main()

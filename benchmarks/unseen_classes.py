"""Unseen actions: the paper's open-vocabulary experiment on the real sets in ../shared.

    python benchmarks/unseen_classes.py florence3d --models llmar gcn_text
    python benchmarks/unseen_classes.py nw_ucla --models llmar gcn_text --set gcn.epochs=8
    python benchmarks/unseen_classes.py florence3d --models llmar --switch choices
    python benchmarks/unseen_classes.py florence3d --summary

Leave-classes-out folds: the classes, shuffled once (seed 0), are cut into groups (NW-UCLA 5 folds of 2,
Florence 3D 3 folds of 3), so every class is unseen exactly once. Each fold trains on the seen classes
only (their clips, their names: ``data.unseen_classes``) and tests on the unseen classes' clips, scored
(a) among the unseen names only, as the paper does, and (b) among all names (the generalised setting).
NW-UCLA keeps its cross-view split (train views 1-2, test view 3); Florence 3D has no split that keeps
every class, so its unseen classes' clips from every actor are the test (none of them is trained on).

Models: ``llmar`` (the default recipe, configs/<dataset>.yaml) and ``gcn_text``, the field's reference: the
graph baseline with its features mapped onto class-name sentence embeddings (all-MiniLM-L6-v2). One JSON
line per run goes to docs/results/unseen_<dataset>.jsonl; the table (mean over folds) is printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from llmar.config import Config
from llmar.data.florence3d import CLASSES as FLORENCE_CLASSES
from llmar.data.nw_ucla import CLASSES as NW_UCLA_CLASSES
from llmar.runner import evaluate_run, train

REPO = Path(__file__).resolve().parents[1]
ACTORS = [f"actor{i:02d}" for i in range(1, 11)]
DATASETS = {
    "nw_ucla": {"classes": NW_UCLA_CLASSES, "fold_size": 2, "llmar": "configs/nw_ucla.yaml",
                "gcn_text": "configs/nw_ucla_gcn.yaml", "overrides": []},
    "florence3d": {"classes": FLORENCE_CLASSES, "fold_size": 3, "llmar": "configs/florence3d.yaml",
                   "gcn_text": "configs/florence3d.yaml",
                   "overrides": [f"data.train_split=[{','.join(ACTORS)}]", f"data.test_split=[{','.join(ACTORS)}]"]},
}
PROMPT_WITH_CHOICES = '"Skeleton motion: {sentence}\\nChoose from: {choices}.\\nWhat action is the person doing?\\nAnswer:"'
# The zero-shot switches measured, as overrides of the default recipe ({dataset} is filled in).
SWITCHES = {
    "default": [],
    "choices": [f"llm.prompt={PROMPT_WITH_CHOICES}"],
    "choices with descriptions": [f"llm.prompt={PROMPT_WITH_CHOICES}", "data.class_descriptions={dataset}",
                                  'llm.choice_template="{name} ({description})"'],
    "description answers": ["data.class_descriptions={dataset}", 'llm.answer_template="{description}: {name}"'],
    "snap entry": ["llm.entry=snap"],
    "text of descriptions": ["data.class_descriptions={dataset}", 'gcn.class_text="{name}: {description}"'],
}


def unseen_folds(classes: tuple[str, ...], size: int, seed: int = 0) -> list[list[str]]:
    """The classes shuffled once and cut into groups of ``size`` (each class unseen in exactly one fold)."""
    order = np.random.default_rng(seed).permutation(len(classes))
    return [[classes[i] for i in order[s : s + size]] for s in range(0, len(classes), size)]


def run_fold(dataset: str, model: str, fold: int, unseen: list[str], switch: str, extra: list[str]) -> dict:
    spec = DATASETS[dataset]
    overrides = ([o.replace("{dataset}", dataset) for o in SWITCHES[switch]] + spec["overrides"]
                 + [f"data.unseen_classes=[{','.join(unseen)}]"] + extra)
    cfg = Config.load(REPO / spec[model], overrides)
    cfg.model = model
    if not Path(cfg.data.path).is_absolute():
        cfg.data.path = str((REPO / cfg.data.path).resolve())
    cfg.output_dir = str(REPO / "runs" / "bench" / f"unseen_{dataset}" / f"{model}_{switch}_fold{fold}".replace(" ", "_"))
    start = time.time()
    _, metrics = train(cfg)
    row = {"dataset": dataset, "model": model, "switch": switch, "fold": fold, "unseen": unseen,
           "overrides": overrides, "wall_seconds": time.time() - start, **_figures(metrics, unseen),
           **{k: metrics[k] for k in ("train_seconds", "peak_rss_gb", "stage2_steps", "final_train_loss") if k in metrics},
           "config": cfg.to_dict()}
    return _write(dataset, row)


def reevaluate_fold(dataset: str, model: str, fold: int, switch: str) -> dict | None:
    """Evaluate a finished fold's saved run again with today's code (e.g. new zero-shot scorers); the new
    row keeps the training figures of the last row for that fold, and replaces it in the summary."""
    previous = [r for r in _rows(dataset) if (r["model"], r["switch"], r["fold"]) == (model, switch, fold)]
    if not previous:
        return None
    run_dir = REPO / "runs" / "bench" / f"unseen_{dataset}" / f"{model}_{switch}_fold{fold}".replace(" ", "_")
    metrics = evaluate_run(run_dir)
    return _write(dataset, {**previous[-1], **_figures(metrics, previous[-1]["unseen"]), "reevaluated": True})


def _figures(metrics: dict, unseen: list[str]) -> dict:
    z, conse = metrics["unseen_only"], metrics.get("unseen_only_conse")
    return {"num_samples": metrics["num_samples"], "unseen_top1": z["top1"], "unseen_top5": z["top5"],
            "unseen_mean_class_accuracy": z["mean_class_accuracy"], "unseen_chance": z["chance"],
            "unseen_conse_top1": conse["top1"] if conse else None, "all_top1": metrics["top1"],
            "all_top5": metrics["top5"], "all_chance": metrics["chance_all"],
            "predicted_as_seen": _share_predicted_seen(metrics, unseen)}


def _rows(dataset: str) -> list[dict]:
    path = REPO / "docs" / "results" / f"unseen_{dataset}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _write(dataset: str, row: dict) -> dict:
    with (REPO / "docs" / "results" / f"unseen_{dataset}.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps({k: v for k, v in row.items() if k != "config"}))
    return row


def _share_predicted_seen(metrics: dict, unseen: list[str]) -> float:
    """Share of the unseen clips that the generalised setting labels with a seen class (the usual ZSL bias)."""
    cm = np.asarray(metrics["confusion_matrix"])
    names = list(metrics["per_class_accuracy"])
    unseen_idx = [names.index(c) for c in unseen]
    seen_idx = [i for i in range(len(names)) if i not in unseen_idx]
    total = cm[unseen_idx].sum()
    return float(cm[np.ix_(unseen_idx, seen_idx)].sum() / max(total, 1))


def summarise(rows: list[dict]) -> str:
    last = {(r["model"], r["switch"], r["fold"]): r for r in rows}  # a re-evaluated fold replaces its row
    groups: dict[tuple, list[dict]] = {}
    for (model, switch, _), r in last.items():
        groups.setdefault((model, switch), []).append(r)
    lines = ["| model | switch | folds | unseen only: top-1 % | ConSE on the LLM's answers % | chance % | "
             "all names: top-1 % | top-5 % | chance % | unseen clips called a seen class % |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def ms(group, key):
        vals = [100 * r[key] for r in group if r.get(key) is not None]
        if not vals:
            return "-"
        return f"{statistics.mean(vals):.1f}" + (f" ± {statistics.stdev(vals):.1f}" if len(vals) > 1 else "")

    for (model, switch), group in groups.items():
        lines.append(f"| {model} | {switch} | {len(group)} | {ms(group, 'unseen_top1')} | "
                     f"{ms(group, 'unseen_conse_top1')} | {ms(group, 'unseen_chance')} | {ms(group, 'all_top1')} | "
                     f"{ms(group, 'all_top5')} | {ms(group, 'all_chance')} | {ms(group, 'predicted_as_seen')} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("dataset", choices=sorted(DATASETS))
    p.add_argument("--models", nargs="+", default=["llmar", "gcn_text"], choices=["llmar", "gcn_text"])
    p.add_argument("--switch", default="default", choices=sorted(SWITCHES))
    p.add_argument("--folds", nargs="*", type=int, default=None, help="fold numbers to run (default: all)")
    p.add_argument("--set", action="append", default=[], help="extra overrides for every run")
    p.add_argument("--summary", action="store_true", help="only print the table of docs/results/unseen_<dataset>.jsonl")
    p.add_argument("--reevaluate", action="store_true", help="evaluate the selected finished folds again, no training")
    args = p.parse_args()
    if args.summary:
        print(summarise(_rows(args.dataset)))
        return
    spec = DATASETS[args.dataset]
    folds = unseen_folds(spec["classes"], spec["fold_size"])
    rows = []
    for fold, unseen in enumerate(folds):
        if args.folds is not None and fold not in args.folds:
            continue
        for model in args.models:  # fold by fold: a cut-short run still compares the models on the same folds
            if args.reevaluate:
                row = reevaluate_fold(args.dataset, model, fold, args.switch)
                rows += [row] if row else []
            else:
                rows.append(run_fold(args.dataset, model, fold, unseen, args.switch, args.set))
    print(summarise(rows))


if __name__ == "__main__":
    main()

"""How to read a trained LLM-AR run's answers for names it never trained on: the unseen-only figure of a
leave-classes-out fold (benchmarks/unseen_classes.py) under several scoring rules, from one set of scores.

    python benchmarks/zero_shot_scoring.py runs/bench/unseen_utd_mhad/llmar_default_fold0_derived

Rules, each ranking the unseen names for every unseen test clip:
- ``likelihood``: the name's likelihood given the clip (with several adapters, their mean probability);
- ``per-token likelihood``: the answer's log-likelihood over its number of tokens (answers of different lengths,
  e.g. descriptions, compared per token; with one adapter only: with several, their mean probability);
- ``prior-corrected``: that probability divided by the name's mean probability over training clips (of the
  seen classes, so nothing of the unseen classes is used): what the clip adds to the name beyond the LLM's
  prior for it in this prompt (a pointwise mutual information; Holtzman et al. 2021's domain-conditional PMI).

One JSON line per run in docs/results/unseen_<dataset>_scoring.jsonl.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import numpy as np
import torch

from llmar.config import Config
from llmar.data.selection import load_data, split_indices
from llmar.evaluation.metrics import unseen_only_metrics
from llmar.llm.pretrained import load_recognizer
from llmar.training.data import make_loader

REPO = Path(__file__).resolve().parents[1]


@torch.no_grad()
def name_log_probs(model, ds, indices, cfg, names: list[str], normalise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(log p(name | clip) normalised over ``names`` [N, len(names)] (``normalise=False``: the model's own
    log-likelihoods of the answers), labels [N])."""
    class_ids = model.class_token_ids(names)
    scores, labels = [], []
    for batch in make_loader(ds, indices, cfg, train=False, batch_size=cfg.train.eval_batch_size):
        s = model.score(batch["x"], class_ids, top_k=None, choices=names).float()
        scores.append((s.log_softmax(-1) if normalise else s).numpy())
        labels.append(batch["y"].numpy())
    return np.concatenate(scores), np.concatenate(labels)


def reference_sample(ds, train_idx: np.ndarray, limit: int, seed: int = 0) -> np.ndarray:
    """Up to ``limit`` training clips, the same share of each class."""
    rng = np.random.default_rng(seed)
    share = min(1.0, limit / len(train_idx))
    picked = [rng.permutation(train_idx[ds.y[train_idx] == c])[: max(1, round(share * (ds.y[train_idx] == c).sum()))]
              for c in np.unique(ds.y[train_idx])]
    return np.sort(np.concatenate(picked))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("--reference-clips", type=int, default=256, help="training clips the names' prior is read on")
    args = p.parse_args()
    run = Path(args.run)
    cfg = Config.load_saved(run / "config.yaml")
    unseen = list(cfg.data.unseen_classes)
    if not unseen:
        raise SystemExit(f"{run}: not a leave-classes-out run (data.unseen_classes is empty)")
    model = load_recognizer(run)[1].eval()
    ds = load_data(cfg)
    train_idx, test_idx = split_indices(ds, cfg)
    test_idx = test_idx[np.isin(ds.y[test_idx], [ds.classes.index(c) for c in unseen])]
    reference = reference_sample(ds, train_idx, args.reference_clips)
    row = {"dataset": Path(cfg.data.path).stem if cfg.data.path else cfg.data.kind, "run": str(run),
           "unseen": unseen, "date": datetime.date.today().isoformat(), "reference_clips": int(len(reference)),
           "adapters": len(model.adapter_names), "chance": 1 / len(unseen)}
    readers = ["all adapters", "first adapter"] if model.extra_maps else ["all adapters"]
    for reader in readers:
        if reader == "first adapter":  # what a run with train.adapters 1 reads
            model.extra_maps.clear()
        raw_scores, labels = name_log_probs(model, ds, test_idx, cfg, unseen, normalise=False)
        test_scores = raw_scores - np.logaddexp.reduce(raw_scores, axis=1, keepdims=True)
        prior = np.log(np.exp(name_log_probs(model, ds, reference, cfg, unseen)[0]).mean(0))
        row[reader] = {"name_prior": dict(zip(unseen, np.exp(prior).round(4).tolist()))}
        # a long answer (a description) sums more tokens' log-probabilities than a short one
        lengths = np.array([len(ids) for ids in model.class_token_ids(unseen)])
        rules = {"likelihood": test_scores, "prior-corrected": test_scores - prior,
                 "per-token likelihood": raw_scores / lengths}
        for rule, scores in rules.items():
            figures = unseen_only_metrics(scores, labels, ds.classes, unseen)
            predicted = np.bincount(scores.argmax(1), minlength=len(unseen)) / len(scores)
            hits = scores.argmax(1) == np.array([unseen.index(ds.classes[y]) for y in labels])
            per_class = {c: float(hits[labels == ds.classes.index(c)].mean()) for c in unseen}
            row[reader][rule] = {"top1": figures["top1"], "mean_class_accuracy": figures["mean_class_accuracy"],
                                 "largest_predicted_share": float(predicted.max()), "per_class": per_class}
    dataset = row["dataset"]
    with (REPO / "docs" / "results" / f"unseen_{dataset}_scoring.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()

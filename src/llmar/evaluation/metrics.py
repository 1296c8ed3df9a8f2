"""Classification metrics from per-class scores."""

from __future__ import annotations

import numpy as np


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # ties: lower class index first, as argmax
    return float((top == labels[:, None]).any(1).mean())


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def classification_metrics(scores: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    """top-1, top-5, mean class accuracy, per-class accuracy and the confusion matrix (rows: truth)."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    pred = scores.argmax(1)
    cm = confusion_matrix(pred, labels, len(classes))
    support = cm.sum(1)
    per_class = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)
    return {
        "num_samples": int(len(labels)),
        "top1": topk_accuracy(scores, labels, 1),
        "top5": topk_accuracy(scores, labels, 5),
        "mean_class_accuracy": float(np.nanmean(per_class)),
        "per_class_accuracy": {c: (None if np.isnan(a) else float(a)) for c, a in zip(classes, per_class)},
        "confusion_matrix": cm.tolist(),
    }


def unseen_only_metrics(unseen_scores: np.ndarray, labels: np.ndarray, classes: list[str], unseen: list[str]) -> dict:
    """The unseen-only setting: scores [N, len(unseen)] ranking the unseen names alone, labels over ``classes``."""
    position = {list(classes).index(c): j for j, c in enumerate(unseen)}
    sub_labels = np.array([position[int(y)] for y in labels], dtype=np.int64)
    inner = classification_metrics(np.asarray(unseen_scores, dtype=np.float64), sub_labels, list(unseen))
    return {"top1": inner["top1"], "top5": inner["top5"] if len(unseen) > 5 else None,
            "mean_class_accuracy": inner["mean_class_accuracy"], "chance": 1.0 / len(unseen),
            "classes": list(unseen)}


def zero_shot_metrics(scores: np.ndarray, labels: np.ndarray, classes: list[str], unseen: list[str],
                      unseen_scores: np.ndarray | None = None) -> dict:
    """The zero-shot settings, from ``scores`` [N, K] over every class name of test clips of seen and unseen
    classes. Unseen-only (ZSL): the unseen classes' clips, the unseen names ranked alone (``unseen_scores``
    [N, len(unseen)] when given: a prompt that lists the candidates scores them again; else the unseen
    columns of ``scores``). Generalised (GZSL): every name, top-1 on the seen classes' clips and on the unseen
    ones, and their harmonic mean (None without seen clips in the test set)."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    unseen_ids = [list(classes).index(c) for c in unseen]
    if unseen_scores is None:
        unseen_scores = scores[:, unseen_ids]
    is_unseen = np.isin(labels, unseen_ids)
    hits = scores.argmax(1) == labels
    on_unseen = float(hits[is_unseen].mean())
    on_seen = float(hits[~is_unseen].mean()) if (~is_unseen).any() else None
    harmonic = None if on_seen is None else (0.0 if on_seen + on_unseen == 0 else
                                             2 * on_seen * on_unseen / (on_seen + on_unseen))
    return {"unseen_only": unseen_only_metrics(np.asarray(unseen_scores)[is_unseen], labels[is_unseen], classes, unseen),
            "generalised": {"seen": on_seen, "unseen": on_unseen, "harmonic_mean": harmonic,
                            "num_seen": int((~is_unseen).sum()), "num_unseen": int(is_unseen.sum())},
            "chance_all": 1.0 / len(classes)}

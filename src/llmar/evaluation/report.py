"""Evaluation outputs: metrics JSON, confusion-matrix and per-class-accuracy plots, a console table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmar.utils import atomic_save_json


def plot_confusion(cm: np.ndarray, classes: list[str], path: Path, title: str = "Confusion matrix") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    size = max(5.0, 0.45 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if len(classes) <= 30:
        for i in range(len(classes)):
            for j in range(len(classes)):
                if cm[i, j]:
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_per_class(per_class: dict[str, float | None], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(per_class)
    values = [per_class[n] if per_class[n] is not None else 0.0 for n in names]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.4 * len(names) + 2), 4))
    ax.bar(range(len(names)), values, color="tab:blue")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title("Per-class accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_loss_curves(log_path: Path, path: Path) -> bool:
    """One panel per training stage from a run's ``logs.jsonl`` (stage-1 total loss, stage-2 or baseline
    loss against the optimizer step). Returns False when the log holds no loss records."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves: dict[str, tuple[list, list]] = {}
    if Path(log_path).exists():
        for line in Path(log_path).read_text().splitlines():
            rec = json.loads(line)
            value = rec.get("loss", rec.get("total"))
            if value is None or rec.get("stage") not in ("stage1", "stage2", "gcn"):
                continue
            steps, values = curves.setdefault(rec["stage"], ([], []))
            steps.append(rec["step"])
            values.append(value)
    if not curves:
        return False
    fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.2), squeeze=False)
    for ax, (stage, (steps, values)) in zip(axes[0], curves.items(), strict=True):
        ax.plot(steps, values, color="tab:blue")
        ax.set_title({"stage1": "stage 1 (VQ-VAE, total loss)", "stage2": "stage 2 (LLM answer loss)",
                      "gcn": "baseline (cross-entropy)"}[stage], fontsize=9)
        ax.set_xlabel("optimizer step")
        ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_report(metrics: dict, classes: list[str], out_dir: Path) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_save_json(metrics, out_dir / "metrics.json")
    plot_confusion(np.array(metrics["confusion_matrix"]), classes, out_dir / "confusion_matrix.png")
    plot_per_class(metrics["per_class_accuracy"], out_dir / "per_class_accuracy.png")


def summary_table(metrics: dict, title: str = "Evaluation"):
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("num_samples", "top1", "top5", "mean_class_accuracy"):
        v = metrics.get(key)
        if v is None:
            continue
        table.add_row(key, f"{100 * v:.2f} %" if isinstance(v, float) else str(v))
    for key in ("train_seconds", "eval_seconds", "eval_samples_per_second", "peak_rss_gb"):
        if key in metrics:
            table.add_row(key, f"{metrics[key]:.2f}")
    return table

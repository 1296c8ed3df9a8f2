"""A self-contained HTML evaluation report: metrics, plots and animated samples in one file.

Images are embedded as base64 data URIs, so the file opens from disk, can be mailed or attached to a CI
run, and loads nothing from anywhere (no server, no external URL).

    report_for_run("runs/demo", metrics, ds, test_idx, recognizer)   # -> runs/demo/eval/report.html
"""

from __future__ import annotations

import base64
import html
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llmar.data.layout import JointLayout
from llmar.evaluation.report import plot_confusion, plot_per_class
from llmar.evaluation.viz import animate_skeleton

# (name, skeleton [M, T, V, C], layout, true class, predicted class or None, action sentence or None)
Sample = tuple[str, np.ndarray, JointLayout, str, str | None, str | None]

PLOTS = (("confusion_matrix.png", "Confusion matrix"), ("per_class_accuracy.png", "Per-class accuracy"))
SUMMARY_KEYS = ("num_samples", "top1", "top5", "mean_class_accuracy")

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } td, th { padding: 3px 12px; border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plots img { max-width: 100%; margin: 0.5em 0; }
.samples { display: flex; flex-wrap: wrap; gap: 1em; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em; width: 250px; }
.card img { width: 100%; } .ok { color: #1a7f37; } .wrong { color: #c62828; }
.sentence { font-family: monospace; font-size: 0.75em; word-break: break-all; color: #555; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
"""


def data_uri(path: str | Path) -> str:
    """A file as a base64 data URI (PNG or GIF, from the suffix)."""
    path = Path(path)
    mime = {".png": "image/png", ".gif": "image/gif"}.get(path.suffix.lower())
    if mime is None:
        raise ValueError(f"{path}: only .png and .gif images are embedded")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _fmt(key: str, value) -> str:
    if isinstance(value, float):
        if key in SUMMARY_KEYS or key == "accuracy":
            return f"{100 * value:.2f} %"
        return f"{value:.4g}"
    return html.escape(str(value))


def _metrics_table(metrics: dict) -> str:
    """Summary metrics first, then every other scalar (timings, steps, losses)."""
    keys = [k for k in SUMMARY_KEYS if k in metrics]
    keys += [k for k, v in metrics.items() if k not in keys and isinstance(v, (int, float, str)) and v is not None]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td class='num'>{_fmt(k, metrics[k])}</td></tr>" for k in keys)
    return f"<table id='metrics'>{rows}</table>"


def _per_class_table(metrics: dict, classes: Sequence[str]) -> str:
    per_class = metrics.get("per_class_accuracy") or {}
    cm = np.asarray(metrics.get("confusion_matrix", []))
    rows = []
    for i, c in enumerate(classes):
        acc = per_class.get(c)
        support = int(cm[i].sum()) if cm.ndim == 2 and i < len(cm) else ""
        rows.append(f"<tr><td>{html.escape(c)}</td><td class='num'>{support}</td>"
                    f"<td class='num'>{'-' if acc is None else f'{100 * acc:.1f} %'}</td></tr>")
    return ("<table id='per-class'><tr><th>class</th><th>test samples</th><th>accuracy</th></tr>"
            + "".join(rows) + "</table>")


def _plots(plot_dir: Path, metrics: dict, classes: Sequence[str], tmp: Path) -> str:
    """The report's PNG plots from ``plot_dir`` (what report.write_report wrote), drawn afresh if missing."""
    parts = []
    for name, caption in PLOTS:
        path = next((p for p in (plot_dir / name, plot_dir / "eval" / name) if p.is_file()), None)
        if path is None:
            path = tmp / name
            if name.startswith("confusion") and "confusion_matrix" in metrics:
                plot_confusion(np.asarray(metrics["confusion_matrix"]), list(classes), path)
            elif name.startswith("per_class") and "per_class_accuracy" in metrics:
                plot_per_class(metrics["per_class_accuracy"], path)
            else:
                continue
        parts.append(f"<img alt='{caption}' src='{data_uri(path)}'>")
    return "<div class='plots'>" + "".join(parts) + "</div>"


def _sample_cards(samples: Sequence[Sample], tmp: Path, max_frames: int) -> str:
    cards = []
    for k, (name, seq, layout, true, pred, sentence) in enumerate(samples):
        gif = animate_skeleton(seq, layout, tmp / f"sample_{k}.gif", title=str(name), label=pred,
                               max_frames=max_frames, dpi=64)
        verdict = ""
        if pred is not None:
            ok = pred == true
            verdict = (f"<div class='{'ok' if ok else 'wrong'}'>predicted: <b>{html.escape(pred)}</b> "
                       f"({'correct' if ok else 'wrong'})</div>")
        text = f"<div class='sentence'>{html.escape(sentence)}</div>" if sentence else ""
        cards.append(f"<div class='card'><img alt='{html.escape(str(name))}' src='{data_uri(gif)}'>"
                     f"<div><b>{html.escape(str(name))}</b> &mdash; true: {html.escape(true)}</div>{verdict}{text}</div>")
    return "<div class='samples'>" + "".join(cards) + "</div>"


def write_html_report(
    run_dir_or_out_dir: str | Path,
    metrics: dict,
    classes: Sequence[str],
    samples: Sequence[Sample],
    out_path: str | Path,
    title: str | None = None,
    max_frames: int = 40,
) -> Path:
    """Write one self-contained HTML report to ``out_path``; returns the path.

    Plots come from ``run_dir_or_out_dir`` (or its ``eval/``), where report.write_report puts them; missing
    ones are drawn from ``metrics``. Each sample becomes an animated GIF card (true vs predicted class and
    the action sentence); ``max_frames`` keeps the file small. A ``config.yaml`` found there is shown too.
    """
    base = Path(run_dir_or_out_dir)
    out_path = Path(out_path)
    title = title or f"llmar evaluation: {base.resolve().name}"
    config = next((p for p in (base / "config.yaml", base.parent / "config.yaml") if p.is_file()), None)
    with tempfile.TemporaryDirectory(prefix="llmar_report_") as t:
        tmp = Path(t)
        sections = [
            f"<h1>{html.escape(title)}</h1>",
            "<h2>Metrics</h2>", _metrics_table(metrics),
        ]
        if samples:
            sections += ["<h2>Test samples</h2>", _sample_cards(samples, tmp, max_frames)]
        sections += ["<h2>Plots</h2>", _plots(base, metrics, classes, tmp),
                     "<h2>Per class</h2>", _per_class_table(metrics, classes)]
        if config is not None:
            sections += ["<h2>Configuration</h2>",
                         f"<details><summary>{html.escape(config.name)}</summary>"
                         f"<pre>{html.escape(config.read_text())}</pre></details>"]
        page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
                + "\n".join(sections) + "</body></html>\n")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    return out_path


def pick_samples(ds, test_idx: Sequence[int], num_samples: int) -> list[int]:
    """Up to ``num_samples`` test indices, one per class in class order first (so the cards show
    different actions), then the rest of the test split in order."""
    test_idx = [int(i) for i in test_idx]
    firsts: dict[int, int] = {}
    for i in test_idx:
        firsts.setdefault(int(ds.y[i]), i)
    chosen = [firsts[c] for c in sorted(firsts)][:num_samples]
    chosen += [i for i in test_idx if i not in chosen][: num_samples - len(chosen)]
    return chosen


def report_for_run(run_dir: str | Path, metrics: dict, ds, test_idx: Sequence[int], recognizer=None,
                   num_samples: int = 4, out_dir: str | Path | None = None) -> Path:
    """The HTML report of an evaluated run, written to ``out_dir`` (default RUN_DIR/eval)/report.html.

    ``recognizer`` (an :class:`llmar.api.Recognizer`, or None for models without one, e.g. the GCN
    baseline) predicts the shown samples and gives their action sentences (none for a continuous-entry
    run: its LLM reads vectors).
    """
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir else run_dir / "eval"
    samples = []
    for i in pick_samples(ds, test_idx, num_samples):
        seq = ds.sample(i)
        pred = recognizer.predict(seq, top_k=1) if recognizer is not None else None
        samples.append((str(ds.names[i]), seq, ds.layout, ds.classes[int(ds.y[i])],
                        pred.label if pred is not None else None, pred.sentence if pred is not None else None))
    return write_html_report(out_dir, metrics, ds.classes, samples, out_dir / "report.html",
                             title=f"llmar evaluation: {run_dir.resolve().name}")


__all__ = ["write_html_report", "report_for_run", "pick_samples", "data_uri"]

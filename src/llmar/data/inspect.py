"""A readable summary of a dataset: counts, frame lengths, bodies, coordinate ranges, the joint tree."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from llmar.data.dataset import SkeletonDataset
from llmar.data.layout import JointLayout

_SCAN_SAMPLES = 2000  # bodies and coordinate ranges come from at most this many samples (x may be 20 GB)


def layout_tree(layout: JointLayout) -> Tree:
    """The kinematic tree as a rich Tree, root first."""
    children: dict[int, list[int]] = {}
    for child, parent in layout.bones:
        children.setdefault(parent, []).append(child)

    def add(node: Tree, j: int) -> None:
        for c in children.get(j, []):
            add(node.add(f"{c} {layout.joint_names[c]}"), c)

    tree = Tree(f"{layout.root} {layout.joint_names[layout.root]}")
    add(tree, layout.root)
    return tree


def _scan(ds: SkeletonDataset, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Bodies present per sample, per-axis min/max over valid frames, from a random subset."""
    n = len(ds)
    idx = np.arange(n) if n <= _SCAN_SAMPLES else np.sort(np.random.default_rng(seed).choice(n, _SCAN_SAMPLES, False))
    bodies = np.zeros(len(idx), dtype=np.int64)
    lo = np.full(ds.num_coords, np.inf)
    hi = np.full(ds.num_coords, -np.inf)
    for k, i in enumerate(idx):
        seq = np.asarray(ds.x[i, :, : ds.lengths[i]], dtype=np.float32)
        present = np.abs(seq).reshape(seq.shape[0], -1).max(axis=1) > 0
        bodies[k] = int(present.sum())
        if present.any():
            pts = seq[present].reshape(-1, ds.num_coords)
            lo, hi = np.minimum(lo, pts.min(0)), np.maximum(hi, pts.max(0))
    return bodies, lo, hi, len(idx)


def describe(ds: SkeletonDataset, width: int = 120) -> str:
    """A plain-text report of ``ds`` (rich tables rendered to text)."""
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    n, m, t, v, c = ds.x.shape
    kind = "memory-mapped" if isinstance(ds.x, np.memmap) else "in memory"
    console.print(f"[bold]{ds.source}[/bold]: {n} samples, x {list(ds.x.shape)} {ds.x.dtype} ({kind})")

    # class x split when the splits are few (train/test); folds (actor01..actor10) get their own table
    splits = sorted(set(ds.split))
    cols = splits if len(splits) <= 4 else []
    counts = Table(title="samples per class" + (" and split" if cols else ""))
    counts.add_column("#", justify="right")
    counts.add_column("class", no_wrap=True)
    for s in cols:
        counts.add_column(s, justify="right")
    counts.add_column("total", justify="right")
    per_split = {s: ds.class_counts(s) for s in cols}
    totals = np.bincount(ds.y, minlength=len(ds.classes))
    for k, name in enumerate(ds.classes):
        counts.add_row(str(k), name, *(str(per_split[s][name]) for s in cols), str(totals[k]))
    counts.add_row("", "all", *(str(int((ds.split == s).sum())) for s in cols), str(n))
    console.print(counts)
    if not cols:
        folds = Table(title="samples per split")
        folds.add_column("split")
        folds.add_column("samples", justify="right")
        for s in splits:
            folds.add_row(s, str(int((ds.split == s).sum())))
        console.print(folds)

    stats = Table(title="frames and bodies")
    stats.add_column("quantity")
    stats.add_column("value")
    lengths = ds.lengths
    stats.add_row("valid frames min / median / max", f"{lengths.min()} / {np.median(lengths):g} / {lengths.max()}")
    stats.add_row("padded frames T", str(t))
    bodies, lo, hi, scanned = _scan(ds)
    hist = ", ".join(f"{k}: {int((bodies == k).sum())}" for k in range(m + 1) if (bodies == k).any())
    note = "" if scanned == n else f" (of {scanned} random samples)"
    stats.add_row("body slots M", str(m))
    stats.add_row(f"samples by bodies present{note}", hist)
    stats.add_row("coordinates", f"{c}D")
    for axis, a, b in zip("xyz", lo, hi, strict=False):
        stats.add_row(f"{axis} range{note}", f"{a:.3f} .. {b:.3f}")
    console.print(stats)

    console.print(f"joint layout [bold]{ds.layout.name}[/bold]: {v} joints, centre joint {ds.layout.center}")
    console.print(layout_tree(ds.layout))
    return console.export_text()

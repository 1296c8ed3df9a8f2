"""CTR-GCN-style ``NTU60_CS.npz`` files (x_train [N, T, M*V*C], one-hot y_train, x_test, y_test)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat
from llmar.data.layout import NTU25, layout_by_joint_count
from llmar.data.npz_io import array_names, check_finite, member_memmap, open_zip, read_member, valid_lengths
from llmar.data.ntu_classes import default_class_names

log = logging.getLogger(__name__)


def _skip_short(lengths: np.ndarray, names: np.ndarray, min_frames: int, source: str) -> np.ndarray:
    """Indices to keep; warns about each dropped sample (no skeleton, or fewer than min_frames)."""
    short = np.flatnonzero(lengths < max(min_frames, 1))
    for i in short:
        what = "has no skeleton (all zeros)" if lengths[i] == 0 else f"has only {lengths[i]} frame(s)"
        log.warning("%s: skipping sample %r: it %s", source, str(names[i]), what)
    return np.setdiff1d(np.arange(len(lengths)), short)


def _labels(y: np.ndarray, path: Path, key: str) -> np.ndarray:
    """Class indices from one-hot rows [N, K] or indices [N]."""
    if not np.issubdtype(y.dtype, np.number) or not np.isfinite(y).all():
        raise DataError(f"{path}: {key} must hold finite numbers, got {y.dtype}")
    if y.ndim == 2:
        rows_ok = np.isin(y, (0, 1)).all(axis=1) & (y.sum(axis=1) == 1)
        if not rows_ok.all():
            raise DataError(f"{path}: {key} row {int(np.argmin(rows_ok))} is not one-hot")
        return y.argmax(axis=1)
    if y.ndim == 1 and (y == np.round(y)).all():
        return y.astype(np.int64)
    raise DataError(f"{path}: {key} must be one-hot [N, K] or class indices [N], got {y.dtype} {y.shape}")


def load_ctrgcn_npz(
    path: str | Path, num_joints: int = 25, coords: int = 3, num_classes: int | None = None, min_frames: int = 2
) -> SkeletonDataset:
    """Read a CTR-GCN-style ``NTU60_CS.npz`` (x_train [N, T, M*V*C], one-hot y_train, x_test, y_test).

    The flat last axis is bodies x joints x coordinates. Lengths are the frames before the all-zero
    tail; samples with no skeleton or fewer than ``min_frames`` frames are skipped with a warning.
    Loaded into memory (convert once with :func:`llmar.data.generic_npz.save_npz` to memory-map).
    """
    path = Path(path)
    parts = []
    with open_zip(path) as zf:
        names = set(zf.namelist())
        splits = [s for s in ("train", "test") if f"x_{s}.npy" in names]
        if not splits:
            raise DataError(f"{path}: no x_train/x_test arrays; found {sorted(names)}")
        for s in splits:
            if f"y_{s}.npy" not in names:
                raise DataError(f"{path}: x_{s} has no matching y_{s}")
            src = member_memmap(path, zf, f"x_{s}.npy")
            src = read_member(path, zf, f"x_{s}.npy") if src is None else src
            y = read_member(path, zf, f"y_{s}.npy")
            parts.append((s, src, y))
    k = num_classes
    xs, ys, tags = [], [], []
    for s, src, y in parts:
        if src.ndim != 3 or src.shape[2] % (num_joints * coords) or 0 in src.shape[1:]:
            raise DataError(
                f"{path}: x_{s} has shape {src.shape}; expected [N, T, M*{num_joints}*{coords}] "
                f"(wrong joint count? pass num_joints/coords)"
            )
        if not np.issubdtype(src.dtype, np.number):
            raise DataError(f"{path}: x_{s} has dtype {src.dtype}")
        labels = _labels(y, path, f"y_{s}")
        if len(labels) != len(src):
            raise DataError(f"{path}: x_{s} has {len(src)} samples but y_{s} has {len(labels)}")
        if y.ndim == 2:
            k = k or y.shape[1]
        n, t, f = src.shape
        m = f // (num_joints * coords)
        x = np.empty((n, m, t, num_joints, coords), dtype=np.float32)
        for i in range(0, n, 256):  # chunked: the source may be a memmap bigger than memory
            x[i : i + 256] = np.asarray(src[i : i + 256]).reshape(-1, t, m, num_joints, coords).transpose(0, 2, 1, 3, 4)
        xs.append(x)
        ys.append(labels)
        tags.append(np.full(n, s))
    shapes = {x.shape[1:] for x in xs}
    if len(shapes) > 1:
        raise DataError(f"{path}: x_train and x_test disagree in shape: {sorted(shapes)}")
    x, y, split = (np.concatenate(a) for a in (xs, ys, tags))
    names = np.array([f"{s}_{i:06d}" for s, part in zip(splits, xs, strict=True) for i in range(len(part))])
    check_finite(x, names, str(path))
    k = k or int(y.max()) + 1
    keep = _skip_short(valid_lengths(x), names, min_frames, str(path))
    if keep.size == 0:
        raise DataError(f"{path}: no usable samples")
    lengths = valid_lengths(x[keep]) if keep.size < len(x) else valid_lengths(x)
    layout = layout_by_joint_count(num_joints, (NTU25,), coords)
    return SkeletonDataset(
        x=x[keep] if keep.size < len(x) else x,
        lengths=lengths,
        y=y[keep],
        classes=default_class_names(k),
        split=split[keep],
        layout=layout,
        names=names[keep],
        source=str(path),
    )


# -- the format entry ----------------------------------------------------------------------------------


def is_ctrgcn_npz(path: Path) -> bool:
    """An ``.npz`` with CTR-GCN's ``x_train`` or ``x_test`` (checked before the generic ``x``)."""
    return path.is_file() and path.suffix == ".npz" and bool({"x_train", "x_test"} & array_names(path))


FORMAT = DataFormat(
    name="ctrgcn_npz",
    title="a CTR-GCN .npz",
    load=load_ctrgcn_npz,
    detect=is_ctrgcn_npz,
    layouts=(NTU25,),  # other skeletons get a generic chain: the file does not say which they are
    sample_suffixes=(".npz",),  # a whole dataset: `llmar predict` reads every sample
)

"""A bare ``.npy`` array, [T, V, C] or [M, T, V, C]: one sample for ``llmar predict``, never a dataset.

It names no skeleton; whoever uses it picks a layout from the joint count
(:func:`~llmar.data.layout.layout_by_joint_count`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError
from llmar.data.formats import DataFormat, Sample


def read_npy_sample(path: Path) -> Sample:
    """(file stem, float32 [M, T, V, C]); DataError on an unreadable file, a wrong shape or NaN/inf."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npy array: {e}") from None
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[1] == 0:
        raise DataError(f"{path}: expected [T, V, C] or [M, T, V, C] with frames, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise DataError(f"{path}: contains NaN or inf")
    return path.stem, arr.astype(np.float32)


FORMAT = DataFormat(
    name="npy",
    title="a .npy skeleton array",
    load=None,  # one sample has no classes to make a dataset of
    sample_suffixes=(".npy",),
    read_sample=read_npy_sample,
)

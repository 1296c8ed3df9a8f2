"""Single files for prediction: whatever format a user points at, as (name, [M, T, V, C]) samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError


def read_samples(path: str | Path, split: str | None = None) -> list[tuple[str, np.ndarray]]:
    """Samples of one file: a raw NTU ``.skeleton``, a NW-UCLA ``.json``, a Florence 3D ``.txt``, a
    generic or CTR-GCN ``.npz`` (every sample, or those of ``split``), or a ``.npy`` array
    [T, V, C] or [M, T, V, C]."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".skeleton":
        from llmar.data.ntu import load_ntu_sample

        return [(path.stem, load_ntu_sample(path))]
    if suffix == ".json":
        from llmar.data.nw_ucla import read_sample

        name, _, _, skel = read_sample(path)
        return [(name, skel[None])]
    if suffix == ".txt":
        from llmar.data.florence3d import read_sample

        return [(path.stem, read_sample(path)[None])]
    if suffix == ".npy":
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
        return [(path.stem, arr.astype(np.float32))]
    if suffix in (".npz", ".pkl", ".pickle"):
        from llmar.data.registry import load_dataset

        ds = load_dataset("auto", path)
        idx = ds.indices(split) if split else np.arange(len(ds))
        return [(str(ds.names[i]), ds.sample(i)) for i in idx]
    raise DataError(f"{path}: unsupported file type {suffix!r} (.skeleton, .json, .txt, .npy, .npz, .pkl)")

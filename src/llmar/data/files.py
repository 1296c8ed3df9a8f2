"""Single files for prediction: whatever format a user points at, as (name, [M, T, V, C]) samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError
from llmar.data.registry import load_dataset, sample_format


def read_samples(path: str | Path, split: str | None = None) -> list[tuple[str, np.ndarray]]:
    """Samples of one file: a raw NTU ``.skeleton``; a ``.json`` holding a Toyota Smarthome video (3D),
    one video of 2D pose-estimator output (COCO-17 from MMPose / RTMPose / Ultralytics, an OpenPose
    ``*_keypoints.json`` frame, MediaPipe Pose image landmarks; confidence and people handled as the
    loaders do) or a NW-UCLA sample; a UAV-Human ``.txt`` (told by its name) or a Florence 3D one; a
    generic or CTR-GCN ``.npz`` or a PYSKL pickle (every sample, or those of ``split``); or a ``.npy``
    array [T, V, C] or [M, T, V, C]. Which format a file is, the registry says
    (:func:`llmar.data.registry.sample_format`)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt, passed = sample_format(path)
    if fmt.read_sample is None:  # the file is a whole dataset
        ds = load_dataset("auto", path)
        idx = ds.indices(split) if split else np.arange(len(ds))
        return [(str(ds.names[i]), ds.sample(i)) for i in idx]
    try:
        return [fmt.read_sample(path)]
    except DataError as e:
        if not passed:
            raise
        # the file was taken because no other format claimed it: say which were ruled out, too
        others = ", ".join(other.title for other in passed)
        raise DataError(
            f"{path}: not {others} or {fmt.title}; as {fmt.title}: {str(e).removeprefix(f'{path}: ')}"
        ) from None

"""Single files for prediction: whatever format a user points at, as (name, [M, T, V, C]) samples."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError


def read_samples(path: str | Path, split: str | None = None) -> list[tuple[str, np.ndarray]]:
    """Samples of one file: a raw NTU ``.skeleton``; a ``.json`` holding a Toyota Smarthome video (3D),
    one video of 2D pose-estimator output (COCO-17 from MMPose / RTMPose / Ultralytics, an OpenPose
    ``*_keypoints.json`` frame, MediaPipe Pose image landmarks; confidence and people handled as the
    loaders do) or a NW-UCLA sample; a UAV-Human ``.txt`` (told by its name) or a Florence 3D one; a
    generic or CTR-GCN ``.npz`` (every sample, or those of ``split``); or a ``.npy`` array
    [T, V, C] or [M, T, V, C]."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".skeleton":
        from llmar.data.ntu_skeleton import load_ntu_sample

        return [(path.stem, load_ntu_sample(path))]
    if suffix == ".json":
        return [_json_sample(path)]
    if suffix == ".txt":
        from llmar.data.uav_human import NAME, read_uav_sample

        if NAME.fullmatch(path.stem):
            return [(path.stem, read_uav_sample(path))]
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


def _json_sample(path: Path) -> tuple[str, np.ndarray]:
    """(name, [M, T, V, C]) of a Toyota Smarthome, pose-estimator or NW-UCLA JSON, told by its content."""
    from llmar.data import nw_ucla, pose_json
    from llmar.data.mediapipe import read_mediapipe_video
    from llmar.data.pose_common import read_json, to_bodies
    from llmar.data.toyota_smarthome import read_toyota_sample

    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16).decode("utf-8", "replace")
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e}") from None
    if re.search(r'"pose[23]d"\s*:', head):
        return path.stem, read_toyota_sample(path)
    kind = pose_json.sniff_pose_json(head)
    if kind == "openpose":
        frames = pose_json.read_openpose_video((path.stem, path, [path]))
    elif kind == "mediapipe":
        frames = read_mediapipe_video(path)
    elif kind == "coco_json":
        data = read_json(path)  # one frame (MMPose per-frame file, Ultralytics result) or a whole video
        one_frame = (isinstance(data, dict) and "instances" in data and "instance_info" not in data) or (
            isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "keypoints" in data[0]
        )
        frames = pose_json.read_coco_video((path.stem, path, [path] if one_frame else None))
    else:
        try:
            name, _, _, skel = nw_ucla.read_sample(path)
        except DataError as e:
            raise DataError(
                f"{path}: not a Toyota Smarthome video, pose-estimator output (COCO-17 / MMPose, OpenPose, "
                f"MediaPipe) or NW-UCLA sample; as NW-UCLA: {str(e).removeprefix(f'{path}: ')}"
            ) from None
        return name, skel[None]
    return path.stem, to_bodies(frames, str(path))

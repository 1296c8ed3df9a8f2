"""One entry point for every dataset kind: ``load_dataset(kind, path, **options)``."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.npz_io import open_zip

# kind -> "module:function"; imported on use, so a missing optional piece breaks only its own kind
LOADERS: dict[str, str] = {
    "npz": "llmar.data.generic_npz:load_npz",
    "ctrgcn_npz": "llmar.data.ctrgcn_npz:load_ctrgcn_npz",
    "pyskl": "llmar.data.pyskl:load_pyskl",
    "ntu_raw": "llmar.data.ntu:load_ntu_raw",
    "nw_ucla": "llmar.data.nw_ucla:load_nw_ucla",
    "florence3d": "llmar.data.florence3d:load_florence3d",
    "coco_json": "llmar.data.pose_json:load_coco_json",
    "openpose": "llmar.data.pose_json:load_openpose",
    "mediapipe": "llmar.data.pose_json:load_mediapipe",
    "toyota_smarthome": "llmar.data.toyota_smarthome:load_toyota_smarthome",
    "uav_human": "llmar.data.uav_human:load_uav_human",
    "synthetic": "llmar.data.synthetic:make_synthetic_dataset",  # takes no path
}
KINDS = (*LOADERS, "auto")


def _loader(kind: str) -> Callable[..., SkeletonDataset]:
    module, fn = LOADERS[kind].split(":")
    return getattr(importlib.import_module(module), fn)


def detect_kind(path: str | Path) -> str:
    """Guess the kind of a file or folder from its name and contents."""
    path = Path(path)
    if path.is_dir():
        if next(path.rglob("*.skeleton"), None) is not None:
            return "ntu_raw"
        if (path / "all_sqe").is_dir() or next(path.glob("a[0-9][0-9]_s[0-9][0-9]_e*_v*.json"), None):
            return "nw_ucla"
        if any(re.fullmatch(r"a\d+_s\d+_id\d+", p.stem) for p in path.rglob("a*_s*_id*.txt")):
            return "florence3d"
        if next(path.rglob("*_p[0-9][0-9]_r[0-9][0-9]_v[0-9][0-9]_c[0-9][0-9].json"), None) is not None:
            return "toyota_smarthome"
        if next(path.rglob("P[0-9]*S[0-9]*G*B*H*UC*LC*A[0-9]*R[0-9]*_*.txt"), None) is not None:
            return "uav_human"
        if next(path.rglob("*_keypoints.json"), None) is not None:
            return "openpose"
        from llmar.data.pose_json import detect_pose_kind  # reads the start of one file

        pose_kind = detect_pose_kind(path)
        if pose_kind is not None:
            return pose_kind
        raise DataError(f"{path}: cannot tell what dataset this folder holds; pass the kind explicitly")
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix in (".pkl", ".pickle"):
        return "pyskl"
    if path.suffix == ".npz":
        with open_zip(path) as zf:
            keys = {n.removesuffix(".npy") for n in zf.namelist()}
        if "x_train" in keys or "x_test" in keys:
            return "ctrgcn_npz"
        if "x" in keys:
            return "npz"
        raise DataError(f"{path}: .npz with arrays {sorted(keys)} is neither the generic nor the CTR-GCN format")
    raise DataError(f"{path}: unknown file type {path.suffix!r}; pass the kind explicitly")


def load_dataset(kind: str, path: str | Path | None = None, **options) -> SkeletonDataset:
    """Load a dataset of ``kind`` (one of :data:`KINDS`) from ``path`` with loader-specific options.

    ``synthetic`` needs no path; ``auto`` detects the kind from ``path``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; choose from {list(KINDS)}")
    if kind == "auto":
        if path is None:
            raise DataError("kind 'auto' needs a path to look at")
        kind = detect_kind(path)
    if kind == "synthetic":
        return _loader(kind)(**options)
    if path is None:
        raise DataError(f"dataset kind {kind!r} needs a path")
    return _loader(kind)(path, **options)

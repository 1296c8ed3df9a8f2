"""Every file format, in one list: ``load_dataset(kind, path, **options)``, ``detect_kind(path)`` and the
format of one sample file (``sample_format``) all go through :data:`FORMATS` and nowhere else.

Each entry is the ``FORMAT`` a format module declares (:class:`~llmar.data.formats.DataFormat`): its
kind, how it recognises a path, how it loads, its joint layouts, how it reads one sample file.
"""

from __future__ import annotations

from pathlib import Path

from llmar.data import (
    coco_json,
    ctrgcn_npz,
    florence3d,
    generic_npz,
    mediapipe,
    npy_array,
    ntu,
    nw_ucla,
    openpose,
    pyskl,
    synthetic,
    toyota_smarthome,
    uav_human,
)
from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat

# The order formats are tried in, first match wins. Folders: the datasets told by their file names come
# first (NTU .skeleton files, NW-UCLA, Florence 3D, Toyota Smarthome, UAV-Human), then pose-estimator
# output, whose JSON is told apart by content (OpenPose's *_keypoints.json names also count). Files: a
# PYSKL pickle by its suffix; a CTR-GCN .npz before the generic one, which rejects any other .npz.
# One sample file: the formats that tell their own files apart go in this order, and those that take
# whatever is left of a suffix (NW-UCLA for .json, Florence 3D for .txt) only after all of them.
FORMATS: tuple[DataFormat, ...] = (
    ntu.FORMAT,
    nw_ucla.FORMAT,
    florence3d.FORMAT,
    toyota_smarthome.FORMAT,
    uav_human.FORMAT,
    openpose.FORMAT,
    mediapipe.FORMAT,
    coco_json.FORMAT,
    pyskl.FORMAT,
    ctrgcn_npz.FORMAT,
    generic_npz.FORMAT,
    npy_array.FORMAT,  # one-sample files only: no dataset kind
    synthetic.FORMAT,  # takes no path
)
BY_KIND = {fmt.name: fmt for fmt in FORMATS if fmt.load is not None}
KINDS = (*BY_KIND, "auto")


def detect_kind(path: str | Path) -> str:
    """Guess the kind of a file or folder from its name and contents."""
    path = Path(path)
    if not path.is_dir() and not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    for fmt in FORMATS:
        if fmt.detect(path):
            return fmt.name
    if path.is_dir():
        raise DataError(f"{path}: cannot tell what dataset this folder holds; pass its kind (--kind, or data.kind: one of "
                        f"{', '.join(BY_KIND)})")
    raise DataError(f"{path}: unknown file type {path.suffix!r}; pass its kind (--kind, or data.kind: one of "
                    f"{', '.join(BY_KIND)})")


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
    fmt = BY_KIND[kind]
    if not fmt.needs_path:
        return fmt.load(**options)
    if path is None:
        raise DataError(f"dataset kind {kind!r} needs a path")
    return fmt.load(path, **options)


def sample_format(path: Path) -> tuple[DataFormat, tuple[DataFormat, ...]]:
    """The format of one sample file, and the formats that looked at it first and said no (a reader that
    takes the leftovers of a suffix names them when it fails too)."""
    suffix = path.suffix.lower()
    candidates = [fmt for fmt in FORMATS if suffix in fmt.sample_suffixes]
    telling = tuple(fmt for fmt in candidates if fmt.is_sample is not None)
    for fmt in telling:
        if fmt.is_sample(path):
            return fmt, ()
    for fmt in candidates:
        if fmt.is_sample is None:
            return fmt, telling
    known = ", ".join(dict.fromkeys(s for fmt in FORMATS for s in fmt.sample_suffixes))
    raise DataError(f"{path}: unsupported file type {suffix!r} ({known})")

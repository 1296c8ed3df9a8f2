"""Telling the pose-estimator formats apart by content: one sniff, so their answers never overlap.

OpenPose, MediaPipe and COCO-17 (MMPose / RTMPose / Ultralytics) output are all JSON whose names say
nothing; the keys near the start of a file do. Their entries (:mod:`llmar.data.openpose`,
:mod:`llmar.data.mediapipe`, :mod:`llmar.data.coco_json`) each ask :func:`pose_json_kind` or
:func:`pose_folder_kind` whether the answer is their own kind.
"""

from __future__ import annotations

import re
from pathlib import Path

from llmar.data.dataset import DataError
from llmar.data.formats import read_head

_OPENPOSE_KEY = re.compile(r'"pose_keypoints_2d"\s*:')
_COCO_KEY = re.compile(r'"(keypoints|instances|instance_info)"\s*:')
# column names of a MediaPipe CSV's first landmark (see llmar.data.mediapipe)
_MEDIAPIPE_COLUMNS = {"x0", "x_0", "nose_x"}


def pose_json_kind(head: str) -> str | None:
    """``openpose``, ``mediapipe`` or ``coco_json`` from the start of a JSON file's text, else None;
    the keys are looked for in that fixed order, so a file that had two tools' keys would get one answer."""
    if _OPENPOSE_KEY.search(head):
        return "openpose"
    if '"visibility"' in head:
        return "mediapipe"
    if _COCO_KEY.search(head):
        return "coco_json"
    return None


def pose_folder_kind(folder: Path) -> str | None:
    """The kind of the pose-estimator output in ``folder``, from the start of its first ``.csv`` (only
    MediaPipe writes CSV), else of its first ``.json``; None when neither tells, or for a file."""
    if not folder.is_dir():
        return None
    for pattern in ("*.csv", "*.json"):
        f = next(folder.rglob(pattern), None)
        if f is None:
            continue
        try:
            head = read_head(f)
        except DataError:  # an unreadable file tells nothing; the folder is then no one's
            return None
        if f.suffix == ".csv":
            header = {h.strip().lower() for h in head.partition("\n")[0].split(",")}
            return "mediapipe" if header & _MEDIAPIPE_COLUMNS else None
        return pose_json_kind(head)
    return None


def pose_file_kind(path: Path) -> str | None:
    """The kind of one pose-estimator JSON file, from its start; DataError when it cannot be read."""
    return pose_json_kind(read_head(path))

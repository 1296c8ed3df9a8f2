"""OpenPose ``--write_json`` output as a dataset (``openpose``): BODY_25 or COCO-18 keypoints.

One ``*_keypoints.json`` per frame, ``{"people": [{"pose_keypoints_2d": [x, y, c, ...], "person_id": [id]}]}``.
Videos sit in ``ROOT/<class name>/`` as :mod:`llmar.data.pose_folder` describes; a <video> is a folder
of frame files, or the frame files lie directly in the class folder (grouped into videos by the name
before ``_<frame number>_keypoints.json``). 75 values per person are BODY_25, 54 are COCO-18 (one model
per dataset). A ``person_id`` other than -1 is a track id.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat, Sample, holds
from llmar.data.layout import OPENPOSE_BODY25, OPENPOSE_COCO18
from llmar.data.pose_common import Person, make_person, natural_key, read_json, to_bodies
from llmar.data.pose_folder import PoseReader, Video, entries, load_pose_folder
from llmar.data.pose_sniff import pose_file_kind, pose_folder_kind

OPENPOSE_LAYOUTS = (OPENPOSE_BODY25, OPENPOSE_COCO18)  # told apart by joint count
_OPENPOSE_FRAME = re.compile(r"(.*?)_?(\d+)_keypoints\.json")


def _openpose_videos(folder: Path) -> tuple[list[Video], list[Path]]:
    videos, skipped, loose = [], [], {}
    for p in entries(folder):
        if p.is_dir():
            videos.append((p.name, p, sorted(p.glob("*_keypoints.json"), key=natural_key)))
        elif p.name.endswith("_keypoints.json"):
            m = _OPENPOSE_FRAME.fullmatch(p.name)
            prefix = m.group(1) if m else p.name.removesuffix("_keypoints.json")
            loose.setdefault(prefix or folder.name, []).append(p)
        else:
            skipped.append(p)
    for prefix, files in loose.items():
        videos.append((prefix, folder / f"{prefix}_*_keypoints.json", files))
    return videos, skipped


def read_openpose_video(video: Video) -> list[list[Person]]:
    """Per-frame detections of one OpenPose video (its ``*_keypoints.json`` files in frame order)."""
    _, path, frame_files = video
    if not frame_files:
        raise DataError(f"{path}: no *_keypoints.json frame files (empty video)")
    return [_openpose_frame(read_json(f), f) for f in frame_files]


def _openpose_frame(data, path: Path) -> list[Person]:
    people = data.get("people") if isinstance(data, dict) else None
    if not isinstance(people, list):
        raise DataError(f"{path}: expected an OpenPose object with a 'people' list")
    frame = []
    for k, person in enumerate(people):
        where = f"{path}: person {k}"
        if not isinstance(person, dict) or not isinstance(person.get("pose_keypoints_2d"), list):
            raise DataError(f"{where}: no pose_keypoints_2d list")
        try:
            arr = np.asarray(person["pose_keypoints_2d"], dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise DataError(f"{where}: pose_keypoints_2d is not a flat number list: {e}") from None
        if arr.ndim != 1 or arr.size not in (75, 54):
            raise DataError(
                f"{where}: pose_keypoints_2d has {arr.size} values; expected 75 (BODY_25) or 54 "
                "(COCO-18), x, y, c per joint (wrong joint count?)"
            )
        pid = person.get("person_id")
        track = pid[0] if isinstance(pid, list) and len(pid) == 1 else pid
        arr = arr.reshape(-1, 3)
        frame.append(make_person(arr[:, :2], arr[:, 2], None if track in (-1, None) else track, where))
    return frame


def load_openpose(
    root: str | Path, min_confidence: float = 0.3, max_bodies: int = 2, min_frames: int = 1
) -> SkeletonDataset:
    """OpenPose BODY_25 or COCO-18 ``*_keypoints.json`` frames in ROOT/<class>/<video>/."""
    reader = PoseReader("OpenPose", _openpose_videos, read_openpose_video, OPENPOSE_LAYOUTS)
    return load_pose_folder(root, reader, min_confidence, max_bodies, min_frames)


# -- the format entry ----------------------------------------------------------------------------------


def is_openpose_folder(path: Path) -> bool:
    """A folder with ``*_keypoints.json`` frame files, or whose first JSON has OpenPose's keys."""
    return holds(path, "*_keypoints.json") or pose_folder_kind(path) == "openpose"


def _read_frame_sample(path: Path) -> Sample:
    """A lone file is one frame."""
    return path.stem, to_bodies(read_openpose_video((path.stem, path, [path])), str(path))


FORMAT = DataFormat(
    name="openpose",
    title="pose-estimator output (OpenPose)",
    load=load_openpose,
    detect=is_openpose_folder,
    layouts=OPENPOSE_LAYOUTS,
    sample_suffixes=(".json",),
    is_sample=lambda path: pose_file_kind(path) == "openpose",
    read_sample=_read_frame_sample,
)

"""MediaPipe Pose (BlazePose, 33 landmarks) exported as JSON or CSV, one file per video; as a dataset
(``mediapipe``), ``ROOT/<class name>/<video>.json`` or ``.csv`` as :mod:`llmar.data.pose_folder` describes.

JSON: a list of frames (or ``{"frames": [...]}``). A frame is one pose, its 33 landmarks
``[{"x": .., "y": .., "z": .., "visibility": ..}, ...]`` in :data:`~llmar.data.layout.MEDIAPIPE33` order;
a list of such poses (Pose Landmarker with ``num_poses`` > 1); ``null`` or ``[]`` when nobody was found;
or an object with ``pose_landmarks`` (or ``landmarks``) and optionally ``pose_world_landmarks`` (or
``world_landmarks``), each one pose or a list of poses.

CSV: a header row, then one row per frame. Landmark i (0..32, named as in ``MEDIAPIPE33``, e.g.
``left_shoulder``) is read from the columns ``x<i>, y<i>, z<i>, v<i>`` (also ``x_<i>`` and
``visibility<i>``) or ``<name>_x, <name>_y, <name>_z, <name>_visibility`` (also ``<name>_v``); world
landmarks from the same names with a ``world_`` prefix (``world_x0``, ``world_nose_x``). Case does not
matter; other columns (``frame``, ``timestamp``) are ignored; z and visibility may be left out (a missing
visibility is 1). A row whose landmark cells are all empty is a frame where nobody was found.

Image landmarks (x, y in 0..1 of the image) give 2D data; ``world=True`` reads the 3D world landmarks
(metres, origin between the hips) instead, and fails on a frame that has a pose but no world landmarks.
A landmark's confidence is its ``visibility`` (else ``presence``, else 1).
"""

from __future__ import annotations

import csv
import io
import re
from functools import partial
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat, Sample
from llmar.data.layout import MEDIAPIPE33
from llmar.data.pose_common import Person, json_frames, make_person, to_bodies
from llmar.data.pose_folder import PoseReader, file_videos, load_pose_folder
from llmar.data.pose_sniff import pose_file_kind, pose_folder_kind

NUM_LANDMARKS = MEDIAPIPE33.num_joints
_COORDS = (("x",), ("y",), ("z",), ("v", "visibility"))


def read_mediapipe_video(path: Path, world: bool = False) -> list[list[Person]]:
    """Per-frame detections of one MediaPipe ``.json`` or ``.csv`` video; DataError on anything odd."""
    if path.suffix.lower() == ".csv":
        return _read_csv(path, world)
    frames = json_frames(path, 'a list of frames or {"frames": [...]}')
    return [_json_frame(frame, world, f"{path}: frame {i}") for i, frame in enumerate(frames)]


def _json_frame(frame, world: bool, where: str) -> list[Person]:
    image = world_poses = None
    if isinstance(frame, dict):
        image = frame.get("pose_landmarks", frame.get("landmarks"))
        world_poses = frame.get("pose_world_landmarks", frame.get("world_landmarks"))
    elif frame is not None:
        image = frame
    poses = _poses(image, where)
    if world:
        if poses and world_poses is None:
            raise DataError(f"{where}: no world landmarks (world=True reads pose_world_landmarks or world_landmarks)")
        poses = _poses(world_poses, where)
    return [_pose(pose, 3 if world else 2, f"{where}: person {k}") for k, pose in enumerate(poses)]


def _poses(value, where: str) -> list:
    """One pose (a list of landmark objects) or several (a list of those) as a list of poses."""
    if value is None or value == []:
        return []
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return [value]
    if isinstance(value, list) and all(isinstance(v, list) for v in value):
        return value
    raise DataError(f"{where}: expected a pose (a list of {NUM_LANDMARKS} landmark objects) or a list of poses")


def _pose(pose: list, dims: int, where: str) -> Person:
    if len(pose) != NUM_LANDMARKS:
        raise DataError(
            f"{where}: {len(pose)} landmarks, expected {NUM_LANDMARKS} (MediaPipe Pose; wrong joint count?)"
        )
    try:
        xy = [[lm[a] for a in "xyz"[:dims]] for lm in pose]
        conf = [lm.get("visibility", lm.get("presence", 1.0)) for lm in pose]
    except (KeyError, TypeError, AttributeError) as e:
        raise DataError(f"{where}: a landmark is not an object with {', '.join('xyz'[:dims])}: {e!r}") from None
    return make_person(xy, conf, None, where)


def _csv_columns(header: list[str], world: bool, path: Path) -> np.ndarray:
    """[33, 4] column of x, y, z, visibility of each landmark (-1 where the header has none)."""
    index = {h.strip().lower(): k for k, h in enumerate(header)}
    pre = "world_" if world else ""
    cols = np.full((NUM_LANDMARKS, 4), -1)
    for i, name in enumerate(MEDIAPIPE33.joint_names):
        for c, aliases in enumerate(_COORDS):
            found = [
                index[n] for a in aliases for n in (f"{pre}{a}{i}", f"{pre}{a}_{i}", f"{pre}{name}_{a}") if n in index
            ]
            cols[i, c] = found[0] if found else -1
    need = 3 if world else 2
    missing = [(i, c) for i in range(NUM_LANDMARKS) for c in range(need) if cols[i, c] < 0]
    if missing:
        i, c = missing[0]
        a, name = "xyz"[c], MEDIAPIPE33.joint_names[i]
        raise DataError(
            f"{path}: no column for landmark {i} ({name}) {a}: expected {pre}{a}{i} or {pre}{name}_{a}; "
            f"{len(missing)} landmark columns missing (MediaPipe Pose has {NUM_LANDMARKS}; wrong joint count?)"
        )
    beyond = [h for h in index if (m := re.fullmatch(rf"{pre}(?:x|y|z|v|visibility)_?(\d+)", h))
              and int(m.group(1)) >= NUM_LANDMARKS]  # fmt: skip
    if beyond:
        raise DataError(
            f"{path}: column {beyond[0]!r} is for a landmark past the {NUM_LANDMARKS} of MediaPipe Pose "
            "(wrong joint count?)"
        )
    return cols


def _read_csv(path: Path, world: bool) -> list[list[Person]]:
    try:
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: not readable CSV: {e}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise DataError(f"{path}: empty file (no header, no frames)")
    cols = _csv_columns(rows[0], world, path)
    if len(rows) == 1:
        raise DataError(f"{path}: empty video (a header but no frame rows)")
    coords, vis = cols[:, : 3 if world else 2], cols[:, 3]
    frames = []
    for r, row in enumerate(rows[1:], start=2):
        where = f"{path}: row {r}"
        if len(row) != len(rows[0]):
            raise DataError(f"{where}: {len(row)} cells but the header has {len(rows[0])} (truncated?)")
        if not any(row[k].strip() for k in [*coords.ravel(), *vis[vis >= 0]]):
            frames.append([])  # nobody found in this frame
            continue
        try:
            xy = [[float(row[k]) for k in lm] for lm in coords]
            conf = [float(row[k]) if k >= 0 else 1.0 for k in vis]
        except ValueError as e:
            raise DataError(f"{where}: empty or non-numeric landmark value: {e}") from None
        frames.append([make_person(xy, conf, None, where)])
    return frames


def load_mediapipe(
    root: str | Path, world: bool = False, min_confidence: float = 0.3, max_bodies: int = 2, min_frames: int = 1
) -> SkeletonDataset:
    """MediaPipe Pose 33 landmarks, ROOT/<class>/<video>.json or .csv; 2D image landmarks, or with
    ``world`` the 3D world landmarks."""
    reader = PoseReader(
        "MediaPipe",
        partial(file_videos, suffixes=(".json", ".csv")),
        lambda video: read_mediapipe_video(video[1], world),
        (MEDIAPIPE33,),
    )
    return load_pose_folder(root, reader, min_confidence, max_bodies, min_frames)


# -- the format entry ----------------------------------------------------------------------------------


def _read_json_sample(path: Path) -> Sample:
    return path.stem, to_bodies(read_mediapipe_video(path), str(path))


FORMAT = DataFormat(
    name="mediapipe",
    title="pose-estimator output (MediaPipe Pose)",
    load=load_mediapipe,
    detect=lambda path: pose_folder_kind(path) == "mediapipe",
    layouts=(MEDIAPIPE33,),
    sample_suffixes=(".json",),  # `llmar predict` reads a lone JSON; CSV only as part of a dataset
    is_sample=lambda path: pose_file_kind(path) == "mediapipe",
    read_sample=_read_json_sample,
)

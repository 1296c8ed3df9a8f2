"""COCO-17 keypoints from MMPose, RTMPose (rtmlib) and Ultralytics YOLO-pose, as a dataset (``coco_json``).

Videos sit in ``ROOT/<class name>/`` as :mod:`llmar.data.pose_folder` describes; a <video> is either

* ``<video>.json``, the whole video: a list of frames, or MMPose's ``{"instance_info": [...]}``
  (``--save-predictions``); a frame is ``{"frame_id": i, "instances": [...]}`` or a list of instances;
* ``<video>/``, a folder with one ``.json`` per frame (in the order of the number in the name), each
  ``{"instances": [...]}`` or a list of instances (MMPose inferencer, Ultralytics ``result.to_json()``).

An instance has ``keypoints`` as [[x, y], ...], [[x, y, score], ...], flat [x, y, v, ...] or
[x, y, ...], or Ultralytics' ``{"x": [...], "y": [...], "visible": [...]}``. The confidence is
``keypoint_scores`` when present, else the third value (score, COCO v flag or ``visible``), else 1.
An optional ``track_id`` follows a person across frames.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat, Sample
from llmar.data.layout import COCO17
from llmar.data.pose_common import Person, make_person, read_json, to_bodies
from llmar.data.pose_folder import PoseReader, Video, file_videos, load_pose_folder
from llmar.data.pose_sniff import pose_file_kind, pose_folder_kind


def read_coco_video(video: Video) -> list[list[Person]]:
    """Per-frame detections of one COCO-17 video (a whole-video JSON, or one JSON per frame)."""
    _, path, frame_files = video
    if frame_files is not None:
        if not frame_files:
            raise DataError(f"{path}: no per-frame .json files (empty video)")
        return [_coco_frame(read_json(f), str(f)) for f in frame_files]
    data = read_json(path)
    frames = data.get("instance_info", data.get("frames")) if isinstance(data, dict) else data
    if not isinstance(frames, list):
        raise DataError(f'{path}: expected a list of frames or MMPose\'s {{"instance_info": [...]}}')
    if not frames:
        raise DataError(f"{path}: empty video (no frames)")
    return [_coco_frame(frame, f"{path}: frame {i}") for i, frame in enumerate(frames)]


def _coco_frame(frame, where: str) -> list[Person]:
    instances = frame.get("instances") if isinstance(frame, dict) else frame
    if not isinstance(instances, list):
        raise DataError(
            f'{where}: expected a list of instances or {{"instances": [...]}} '
            "(a file with one frame belongs in a <video>/ folder of per-frame files)"
        )
    return [_coco_person(inst, f"{where}: person {k}") for k, inst in enumerate(instances)]


def _coco_person(inst, where: str) -> Person:
    v = COCO17.num_joints
    if not isinstance(inst, dict) or "keypoints" not in inst:
        raise DataError(f"{where}: expected an instance object with 'keypoints'")
    kp, scores = inst["keypoints"], inst.get("keypoint_scores")
    if isinstance(kp, dict):  # Ultralytics: {"x": [...], "y": [...], "visible": [...]}
        if not isinstance(kp.get("x"), list) or not isinstance(kp.get("y"), list) or len(kp["x"]) != len(kp["y"]):
            raise DataError(f"{where}: a keypoints object needs 'x' and 'y' lists of one length")
        kp, scores = list(zip(kp["x"], kp["y"])), kp.get("visible") if scores is None else scores
    try:
        arr = np.asarray(kp, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise DataError(f"{where}: keypoints are not a number array: {e}") from None
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 1 and arr.size in (2 * v, 3 * v):
        arr = arr.reshape(v, -1)
    if arr.shape not in ((v, 2), (v, 3)):
        raise DataError(
            f"{where}: keypoints of shape {arr.shape}; expected {v} COCO keypoints as [[x, y], ...], "
            "[[x, y, score], ...] or flat [x, y, v, ...] (wrong joint count?)"
        )
    if scores is None and arr.shape[1] == 3:
        scores = arr[:, 2]
    return make_person(arr[:, :2], scores, inst.get("track_id"), where)


def load_coco_json(
    root: str | Path, min_confidence: float = 0.3, max_bodies: int = 2, min_frames: int = 1
) -> SkeletonDataset:
    """COCO-17 keypoints (MMPose, RTMPose/rtmlib, Ultralytics YOLO-pose) in ROOT/<class>/<video>."""
    reader = PoseReader(
        "COCO-17 JSON", partial(file_videos, suffixes=(".json",), frame_glob="*.json"), read_coco_video, (COCO17,)
    )
    return load_pose_folder(root, reader, min_confidence, max_bodies, min_frames)


# -- the format entry ----------------------------------------------------------------------------------


def _read_json_sample(path: Path) -> Sample:
    """A lone file is one frame (an MMPose per-frame file, an Ultralytics result) or a whole video."""
    data = read_json(path)
    one_frame = (isinstance(data, dict) and "instances" in data and "instance_info" not in data) or (
        isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "keypoints" in data[0]
    )
    return path.stem, to_bodies(read_coco_video((path.stem, path, [path] if one_frame else None)), str(path))


FORMAT = DataFormat(
    name="coco_json",
    title="pose-estimator output (COCO-17: MMPose, RTMPose, Ultralytics)",
    load=load_coco_json,
    detect=lambda path: pose_folder_kind(path) == "coco_json",
    layouts=(COCO17,),
    sample_suffixes=(".json",),
    is_sample=lambda path: pose_file_kind(path) == "coco_json",
    read_sample=_read_json_sample,
)

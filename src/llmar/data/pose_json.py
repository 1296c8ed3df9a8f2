"""2D pose-estimator output as a dataset: COCO-17 keypoints (MMPose, RTMPose/rtmlib, Ultralytics
YOLO-pose), OpenPose BODY_25 / COCO-18 and MediaPipe Pose (33 landmarks).

The class of a video is the name of the folder it is in::

    ROOT/<class name>/<video>            every video is tagged split "train"
    ROOT/train/<class name>/<video>      when ROOT holds both train/ and test/ (and no other folder),
    ROOT/test/<class name>/<video>       each video is tagged with the one it is under

Classes are the class-folder names that hold videos, sorted; a sample's name is its video's path under
ROOT without the suffix (``train/wave/clip01``). What a <video> is, per kind:

``coco_json`` (:func:`load_coco_json`), COCO-17 keypoints, either
    * ``<video>.json``, the whole video: a list of frames, or MMPose's ``{"instance_info": [...]}``
      (``--save-predictions``); a frame is ``{"frame_id": i, "instances": [...]}`` or a list of instances;
    * ``<video>/``, a folder with one ``.json`` per frame (in the order of the number in the name), each
      ``{"instances": [...]}`` or a list of instances (MMPose inferencer, Ultralytics ``result.to_json()``).
    An instance has ``keypoints`` as [[x, y], ...], [[x, y, score], ...], flat [x, y, v, ...] or
    [x, y, ...], or Ultralytics' ``{"x": [...], "y": [...], "visible": [...]}``. The confidence is
    ``keypoint_scores`` when present, else the third value (score, COCO v flag or ``visible``), else 1.
    An optional ``track_id`` follows a person across frames.
``openpose`` (:func:`load_openpose`), OpenPose ``--write_json`` output, one ``*_keypoints.json`` per
    frame, ``{"people": [{"pose_keypoints_2d": [x, y, c, ...], "person_id": [id]}]}``: ``<video>/``, a
    folder of them, or the files directly in the class folder (grouped into videos by the name before
    ``_<frame number>_keypoints.json``). 75 values per person are BODY_25, 54 are COCO-18 (one model per
    dataset). A ``person_id`` other than -1 is a track id.
``mediapipe`` (:func:`load_mediapipe`), MediaPipe Pose landmarks: ``<video>.json`` or ``<video>.csv``,
    as :mod:`llmar.data.mediapipe` describes; ``world=True`` reads the 3D world landmarks.

Coordinates stay as the tool wrote them (pixels, or 0..1 of the image for MediaPipe and normalised
Ultralytics output); training centres and scales each clip. Low-confidence joints (below
``min_confidence``, default 0.3), several people (``max_bodies``, default 2) and frames with nobody are
handled as :mod:`llmar.data.pose_common` describes. Entries of a class folder that are not videos of
the kind are skipped with a warning (hidden ones, ``.name``, quietly); bad input raises DataError.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.layout import COCO17, MEDIAPIPE33, OPENPOSE_BODY25, OPENPOSE_COCO18
from llmar.data.mediapipe import read_mediapipe_video
from llmar.data.pose_common import Person, make_person, natural_key, read_json, to_bodies

log = logging.getLogger(__name__)

SPLITS = ("train", "test")
LAYOUTS_BY_JOINTS = {lay.num_joints: lay for lay in (COCO17, OPENPOSE_BODY25, OPENPOSE_COCO18, MEDIAPIPE33)}
_OPENPOSE_FRAME = re.compile(r"(.*?)_?(\d+)_keypoints\.json")

# one video: (name, path shown in messages, per-frame files or None for a one-file video)
Video = tuple[str, Path, list[Path] | None]


def _entries(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=natural_key)


def class_folders(root: Path) -> list[tuple[str, str, Path]]:
    """(class name, split tag, folder) of every class folder under ``root`` (see the module docstring)."""
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; expected ROOT/<class name>/<video>")
    names = {p.name for p in _entries(root) if p.is_dir()}
    tops = [(root, "train")]
    if set(SPLITS) <= names:
        if names - set(SPLITS):
            raise DataError(
                f"{root}: holds train/ and test/ but also {sorted(names - set(SPLITS))}; "
                "put every class folder under train/ or test/"
            )
        tops = [(root / tag, tag) for tag in SPLITS]
    found = [(d.name, tag, d) for top, tag in tops for d in _entries(top) if d.is_dir()]
    if not found:
        raise DataError(f"{root}: no class folders; expected ROOT/<class name>/<video> (the class is the folder name)")
    return found


def load_pose_folder(
    root: str | Path,
    kind: str,
    videos_in: Callable[[Path], tuple[list[Video], list[Path]]],
    read_video: Callable[[Video], list[list[Person]]],
    min_confidence: float = 0.3,
    max_bodies: int = 2,
    min_frames: int = 1,
) -> SkeletonDataset:
    """Read every video of every class folder under ``root``: ``videos_in(folder)`` lists a class folder's
    videos (and the entries it skips), ``read_video`` turns one into per-frame detections."""
    root = Path(root)
    samples = []
    for cls, tag, folder in class_folders(root):
        videos, skipped = videos_in(folder)
        if skipped:
            log.warning(
                "%s: skipping %d entries that are not %s videos (%s)",
                folder,
                len(skipped),
                kind,
                ", ".join(p.name for p in skipped[:3]) + (", ..." if len(skipped) > 3 else ""),
            )
        if not videos:
            log.warning("%s: class folder %r holds no %s videos", folder, cls, kind)
        for name, path, files in videos:
            seq = to_bodies(read_video((name, path, files)), str(path), min_confidence, max_bodies)
            if seq.shape[1] < min_frames:
                log.warning("%s: skipping, only %d frame(s) with a person", path, seq.shape[1])
                continue
            samples.append(((folder / name).relative_to(root).as_posix(), cls, tag, seq, path))
    if not samples:
        raise DataError(
            f"{root}: no usable {kind} videos; expected ROOT/<class name>/<video> (see llmar.data.pose_json)"
        )
    first = samples[0]
    for other in samples:
        if other[3].shape[2:] != first[3].shape[2:]:
            raise DataError(
                f"{other[4]}: {other[3].shape[2]} joints x {other[3].shape[3]} coordinates, but "
                f"{first[4]} has {first[3].shape[2]} x {first[3].shape[3]}; one model per dataset"
            )
    names, labels, tags, seqs, _ = zip(*samples)
    classes = sorted(set(labels))
    y = [classes.index(c) for c in labels]
    layout = LAYOUTS_BY_JOINTS[first[3].shape[2]]
    return SkeletonDataset.from_sequences(list(seqs), y, classes, tags, layout, names, str(root))


def file_videos(
    folder: Path, suffixes: tuple[str, ...], frame_glob: str | None = None
) -> tuple[list[Video], list[Path]]:
    """A class folder's one-file videos (``suffixes``) and, with ``frame_glob``, its per-frame video
    folders; and the entries that are neither."""
    videos, skipped = [], []
    for p in _entries(folder):
        if p.is_dir() and frame_glob:
            videos.append((p.name, p, sorted(p.glob(frame_glob), key=natural_key)))
        elif p.is_file() and p.suffix.lower() in suffixes:
            videos.append((p.stem, p, None))
        else:
            skipped.append(p)
    return videos, skipped


# -- COCO-17: MMPose / RTMPose / Ultralytics -------------------------------------------------------


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
    return load_pose_folder(
        root,
        "COCO-17 JSON",
        partial(file_videos, suffixes=(".json",), frame_glob="*.json"),
        read_coco_video,
        min_confidence,
        max_bodies,
        min_frames,
    )


# -- OpenPose BODY_25 / COCO-18 -------------------------------------------------------------------


def _openpose_videos(folder: Path) -> tuple[list[Video], list[Path]]:
    videos, skipped, loose = [], [], {}
    for p in _entries(folder):
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
    return load_pose_folder(
        root, "OpenPose", _openpose_videos, read_openpose_video, min_confidence, max_bodies, min_frames
    )


# -- MediaPipe Pose -------------------------------------------------------------------------------


def load_mediapipe(
    root: str | Path, world: bool = False, min_confidence: float = 0.3, max_bodies: int = 2, min_frames: int = 1
) -> SkeletonDataset:
    """MediaPipe Pose 33 landmarks, ROOT/<class>/<video>.json or .csv; 2D image landmarks, or with
    ``world`` the 3D world landmarks."""
    return load_pose_folder(
        root,
        "MediaPipe",
        partial(file_videos, suffixes=(".json", ".csv")),
        lambda video: read_mediapipe_video(video[1], world),
        min_confidence,
        max_bodies,
        min_frames,
    )


# -- detection --------------------------------------------------------------------------------------


def detect_pose_kind(root: Path) -> str | None:
    """``mediapipe`` or ``coco_json`` when a folder holds that tool's output, else None (OpenPose folders
    are told by their ``*_keypoints.json`` names first). Cheap: reads the start of one file."""
    for pattern in ("*.csv", "*.json"):
        f = next(root.rglob(pattern), None)
        if f is None:
            continue
        try:
            with open(f, "rb") as fh:
                head = fh.read(1 << 16).decode("utf-8", "replace")
        except OSError:
            return None
        if f.suffix == ".csv":
            header = {h.strip().lower() for h in head.partition("\n")[0].split(",")}
            return "mediapipe" if header & {"x0", "x_0", "nose_x"} else None
        return sniff_pose_json(head)
    return None


def sniff_pose_json(head: str) -> str | None:
    """``openpose``, ``mediapipe`` or ``coco_json`` from the start of a JSON file's text, else None."""
    if re.search(r'"pose_keypoints_2d"\s*:', head):
        return "openpose"
    if '"visibility"' in head:
        return "mediapipe"
    if re.search(r'"(keypoints|instances|instance_info)"\s*:', head):
        return "coco_json"
    return None

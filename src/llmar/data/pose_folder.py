"""Pose-estimator output as a dataset: the folder walk the COCO-17, OpenPose and MediaPipe formats share.

The class of a video is the name of the folder it is in::

    ROOT/<class name>/<video>            every video is tagged split "train"
    ROOT/train/<class name>/<video>      when ROOT holds both train/ and test/ (and no other folder),
    ROOT/test/<class name>/<video>       each video is tagged with the one it is under

Classes are the class-folder names that hold videos, sorted; a sample's name is its video's path under
ROOT without the suffix (``train/wave/clip01``). What a <video> is depends on the tool (a
:class:`PoseReader` says): :mod:`llmar.data.coco_json`, :mod:`llmar.data.openpose`,
:mod:`llmar.data.mediapipe`.

Coordinates stay as the tool wrote them (pixels, or 0..1 of the image for MediaPipe and normalised
Ultralytics output); training centres and scales each clip. Low-confidence joints (below
``min_confidence``, default 0.3), several people (``max_bodies``, default 2) and frames with nobody are
handled as :mod:`llmar.data.pose_common` describes. Entries of a class folder that are not videos of
the kind are skipped with a warning (hidden ones, ``.name``, quietly); bad input raises DataError.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.joint_layout import JointLayout
from llmar.data.layout import layout_by_joint_count
from llmar.data.pose_common import Person, natural_key, to_bodies

log = logging.getLogger(__name__)

SPLITS = ("train", "test")

# one video: (name, path shown in messages, per-frame files or None for a one-file video)
Video = tuple[str, Path, list[Path] | None]


@dataclass(frozen=True)
class PoseReader:
    """How one tool's output is read: ``videos_in(folder)`` lists a class folder's videos (and the entries
    it skips), ``read_video`` turns one into per-frame detections; ``layouts`` are the tool's skeletons,
    told apart by joint count; ``what`` names the tool in messages."""

    what: str
    videos_in: Callable[[Path], tuple[list[Video], list[Path]]]
    read_video: Callable[[Video], list[list[Person]]]
    layouts: tuple[JointLayout, ...]


def entries(folder: Path) -> list[Path]:
    """The visible entries of ``folder`` in natural order (``frame2`` before ``frame10``)."""
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=natural_key)


def class_folders(root: Path) -> list[tuple[str, str, Path]]:
    """(class name, split tag, folder) of every class folder under ``root`` (see the module docstring)."""
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; expected ROOT/<class name>/<video>")
    names = {p.name for p in entries(root) if p.is_dir()}
    tops = [(root, "train")]
    if set(SPLITS) <= names:
        if names - set(SPLITS):
            raise DataError(
                f"{root}: holds train/ and test/ but also {sorted(names - set(SPLITS))}; "
                "put every class folder under train/ or test/"
            )
        tops = [(root / tag, tag) for tag in SPLITS]
    found = [(d.name, tag, d) for top, tag in tops for d in entries(top) if d.is_dir()]
    if not found:
        raise DataError(f"{root}: no class folders; expected ROOT/<class name>/<video> (the class is the folder name)")
    return found


def load_pose_folder(
    root: str | Path, reader: PoseReader, min_confidence: float = 0.3, max_bodies: int = 2, min_frames: int = 1
) -> SkeletonDataset:
    """Read every video of every class folder under ``root`` with ``reader``."""
    root = Path(root)
    samples = []
    for cls, tag, folder in class_folders(root):
        videos, skipped = reader.videos_in(folder)
        if skipped:
            log.warning(
                "%s: skipping %d entries that are not %s videos (%s)",
                folder,
                len(skipped),
                reader.what,
                ", ".join(p.name for p in skipped[:3]) + (", ..." if len(skipped) > 3 else ""),
            )
        if not videos:
            log.warning("%s: class folder %r holds no %s videos", folder, cls, reader.what)
        for name, path, files in videos:
            seq = to_bodies(reader.read_video((name, path, files)), str(path), min_confidence, max_bodies)
            if seq.shape[1] < min_frames:
                log.warning("%s: skipping, only %d frame(s) with a person", path, seq.shape[1])
                continue
            samples.append(((folder / name).relative_to(root).as_posix(), cls, tag, seq, path))
    if not samples:
        raise DataError(
            f"{root}: no usable {reader.what} videos; expected ROOT/<class name>/<video> (see llmar.data.pose_json)"
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
    layout = layout_by_joint_count(first[3].shape[2], reader.layouts)
    return SkeletonDataset.from_sequences(list(seqs), y, classes, tags, layout, names, str(root))


def file_videos(
    folder: Path, suffixes: tuple[str, ...], frame_glob: str | None = None
) -> tuple[list[Video], list[Path]]:
    """A class folder's one-file videos (``suffixes``) and, with ``frame_glob``, its per-frame video
    folders; and the entries that are neither."""
    videos, skipped = [], []
    for p in entries(folder):
        if p.is_dir() and frame_glob:
            videos.append((p.name, p, sorted(p.glob(frame_glob), key=natural_key)))
        elif p.is_file() and p.suffix.lower() in suffixes:
            videos.append((p.stem, p, None))
        else:
            skipped.append(p)
    return videos, skipped

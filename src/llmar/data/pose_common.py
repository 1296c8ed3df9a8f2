"""What the 2D pose-estimator loaders share: one detected person, confidence handling, choosing bodies.

A reader turns one video into frames, each a list of :class:`Person` (the people detected in that
frame); :func:`to_bodies` turns those into the [M, T, V, C] array a :class:`SkeletonDataset` holds:

* a joint whose confidence is below ``min_confidence`` is missing, not a real zero: it is filled by
  linear interpolation over time from the same joint's confident frames (the nearest confident value
  is held at the ends); a joint never confident in the clip is set, frame by frame, to the mean of that
  body's confident joints (so centring and scale never see a fake origin);
* people are followed across frames by their track id when the tool wrote one, else by their order
  in the frame; the ``max_bodies`` tracks that move most are kept, the one moving most first;
* a frame where no kept body has a confident joint is dropped; a kept body missing from a frame that
  another body is in is filled like a missing joint (interpolated, held at the ends);
* a video with no confident person at all raises :class:`DataError` naming the file.

:func:`cap_frames` keeps at most ``max_frames`` evenly spaced frames of a long clip, and
:func:`named_files` finds a dataset's files by their name pattern (the Toyota Smarthome and UAV-Human
loaders use both).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError

log = logging.getLogger(__name__)


@dataclass
class Person:
    """One detection: ``xy`` float32 [V, C] coordinates, ``conf`` float32 [V] per-joint confidence,
    ``track`` the tool's track id (None when it wrote none)."""

    xy: np.ndarray
    conf: np.ndarray
    track: int | str | None = None


def make_person(xy, conf, track, where: str) -> Person:
    """A checked :class:`Person`: numbers only, finite, one confidence per joint; DataError naming
    ``where`` (file, frame, person) otherwise."""
    try:
        xy = np.asarray(xy, dtype=np.float32)
        conf = np.ones(len(xy), np.float32) if conf is None else np.asarray(conf, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise DataError(f"{where}: keypoints or scores are not numbers: {e}") from None
    if conf.ndim > 1 and conf.size == len(xy):  # [[s0, s1, ...]] as some tools nest it
        conf = conf.reshape(-1)
    if xy.ndim != 2 or conf.shape != (len(xy),):
        raise DataError(f"{where}: {conf.size} confidence values for keypoints of shape {xy.shape}")
    if not (np.isfinite(xy).all() and np.isfinite(conf).all()):
        raise DataError(f"{where}: keypoints contain NaN or inf")
    if track is not None and (isinstance(track, bool) or not isinstance(track, (int, str))):
        raise DataError(f"{where}: track id {track!r} is not an integer or a string")
    return Person(xy, conf, track)


def read_json(path: Path):
    """The parsed JSON of ``path``; DataError on an unreadable, truncated or malformed file."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DataError(f"{path}: not readable JSON: {e}") from None


def json_frames(path: Path, expected: str, bare_list: bool = True) -> list:
    """The frames of a whole-video JSON, ``{"frames": [...]}`` or (with ``bare_list``) a bare list;
    DataError saying what was ``expected`` when it is neither, or when it has no frames."""
    data = read_json(path)
    frames = data.get("frames") if isinstance(data, dict) else data if bare_list else None
    if not isinstance(frames, list):
        raise DataError(f"{path}: expected {expected}")
    if not frames:
        raise DataError(f"{path}: empty video (no frames)")
    return frames


def natural_key(path: Path) -> list:
    """Sort key that puts frame_2 before frame_10."""
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", path.name)]


def fill_missing(pos: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Fill the joints of ``pos`` [T, V, C] where ``ok`` [T, V] is False: interpolated over time from the
    same joint's good frames (held at the ends), or, for a joint never good, the mean of the frame's good
    joints (of its filled joints in a frame with none good). Needs at least one good joint."""
    out = np.array(pos, dtype=np.float32)
    t = np.arange(len(pos))
    seen = ok.any(0)
    for j in np.flatnonzero(seen & ~ok.all(0)):
        good = ok[:, j]
        for c in range(pos.shape[2]):
            out[:, j, c] = np.interp(t, t[good], pos[good, j, c])
    if not seen.all():
        count = ok.sum(1, keepdims=True)
        mean_good = (pos * ok[..., None]).sum(1) / np.maximum(count, 1)
        out[:, ~seen] = np.where(count > 0, mean_good, out[:, seen].mean(1))[:, None]
    return out


def _tracks(frames: list[list[Person]], source: str) -> dict:
    """track key -> (pos [T, V, C], conf [T, V]) with confidence -1 where the track is absent."""
    shapes = {p.xy.shape for people in frames for p in people}
    if len(shapes) > 1:
        raise DataError(f"{source}: people disagree on keypoint shape {sorted(shapes)} (wrong joint count?)")
    if not shapes:
        raise DataError(f"{source}: no person detected in any of its {len(frames)} frame(s)")
    (v, c), t = shapes.pop(), len(frames)
    tracks: dict = {}
    for i, people in enumerate(frames):
        for k, person in enumerate(people):
            key = ("id", person.track) if person.track is not None else ("order", k)
            pos, conf = tracks.setdefault(key, (np.zeros((t, v, c), np.float32), np.full((t, v), -1.0, np.float32)))
            if conf[i, 0] >= 0:
                raise DataError(f"{source}: frame {i} has two people with track id {person.track!r}")
            pos[i], conf[i] = person.xy, np.maximum(person.conf, 0.0)
    return tracks


def _motion(pos: np.ndarray, ok: np.ndarray) -> float:
    """Total path length of a body's joints over the frames it has a confident joint in."""
    present = ok.any(1)
    filled = fill_missing(pos[present], ok[present])
    return float(np.linalg.norm(np.diff(filled, axis=0), axis=-1).sum())


def to_bodies(frames: list[list[Person]], source: str, min_confidence: float = 0.3, max_bodies: int = 2) -> np.ndarray:
    """float32 [M, T, V, C] (M <= ``max_bodies``) from one video's per-frame detections; see the module
    docstring for how confidence, tracks and empty frames are treated."""
    if not frames:
        raise DataError(f"{source}: empty video (no frames)")
    if max_bodies < 1 or min_confidence < 0:
        raise ValueError(f"need max_bodies >= 1 and min_confidence >= 0, got {max_bodies} and {min_confidence}")
    candidates = []
    for order, (pos, conf) in enumerate(_tracks(frames, source).values()):
        ok = conf >= min_confidence
        if ok.any():
            candidates.append((-_motion(pos, ok), order, pos, ok))
    if not candidates:
        raise DataError(f"{source}: no person has a joint with confidence >= {min_confidence} in any frame")
    kept = [(pos, ok) for *_, pos, ok in sorted(candidates, key=lambda c: c[:2])[:max_bodies]]
    frame_kept = np.any([ok.any(1) for _, ok in kept], axis=0)  # frames some kept body is in
    return np.stack([fill_missing(pos[frame_kept], ok[frame_kept]) for pos, ok in kept])


def cap_frames(seq: np.ndarray, max_frames: int | None) -> np.ndarray:
    """``seq`` [M, T, V, C] with at most ``max_frames`` evenly spaced frames (first and last kept);
    None keeps every frame. Training resamples every clip to ``data.num_frames`` anyway."""
    if max_frames is None or seq.shape[1] <= max_frames:
        return seq
    if max_frames < 2:
        raise ValueError(f"max_frames must be at least 2 (or None), got {max_frames}")
    return seq[:, np.linspace(0, seq.shape[1] - 1, max_frames).round().astype(int)]


def named_files(root: Path, glob: str, pattern: re.Pattern, what: str) -> list[tuple[Path, re.Match]]:
    """Files under ``root`` matching ``glob`` whose stem fullmatches ``pattern``, sorted by name, with
    their matches; the others are skipped with a warning. DataError when there are none."""
    if not root.is_dir():
        raise DataError(f"{root}: not a folder of {what} files")
    found, skipped = [], []
    for f in sorted(root.rglob(glob), key=lambda p: p.name):
        if f.name.startswith("."):
            continue
        m = pattern.fullmatch(f.stem)
        if m:
            found.append((f, m))
        else:
            skipped.append(f)
    if skipped:
        log.warning("%s: skipping %d %s files not named as %s files (%s%s)", root, len(skipped), glob, what,
                    ", ".join(f.name for f in skipped[:3]), ", ..." if len(skipped) > 3 else "")  # fmt: skip
    if not found:
        raise DataError(f"{root}: no {what} files found")
    return found

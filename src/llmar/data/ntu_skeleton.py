"""Reading and cleaning one raw NTU RGB+D ``.skeleton`` file: the Kinect v2 text parser (bodies with
their info lines and 25 joints, malformed files reported as :class:`DataError` naming the line), and
the field's denoising that keeps the two main actors as float32 [2, T, 25, 3]; a file with no body
in any frame raises :class:`MissingSkeleton`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError

NUM_JOINTS = 25
MAX_BODIES = 2  # the field keeps two actors
MAX_BODIES_PER_FRAME = 6  # Kinect v2 tracks at most six people; more means a corrupt count

# Denoising thresholds of the field's NTU preprocessing (get_raw_denoised_data.py in CTR-GCN et al.)
NOISE_LEN_THRES = 11  # bodies seen in at most this many frames are noise
NOISE_SPR_THRES1 = 0.8  # a frame is noisy when x-spread > 0.8 * y-spread (not an upright person)
NOISE_SPR_THRES2 = 0.69754  # a body is noise when at least this fraction of its frames are

# -- raw .skeleton parser ---------------------------------------------------------------------------------


@dataclass
class NtuBody:
    """One tracked body (one Kinect body id) over the frames it appears in.

    ``info`` [n, 9] is the info line after the id: clippedEdges, handLeftConfidence, handLeftState,
    handRightConfidence, handRightState, isRestricted, leanX, leanY, trackingState. ``joints``
    [n, 25, 12] holds x y z depthX depthY colorX colorY orientW orientX orientY orientZ trackingState.
    """

    body_id: str
    frames: np.ndarray
    info: np.ndarray
    joints: np.ndarray

    @property
    def xyz(self) -> np.ndarray:
        """[n, 25, 3] camera-space positions in metres."""
        return self.joints[..., :3]

    @property
    def tracking(self) -> np.ndarray:
        """[n, 25] joint tracking state: 0 not tracked, 1 inferred, 2 tracked."""
        return self.joints[..., 11].astype(np.int8)


@dataclass
class NtuSkeleton:
    """One parsed file: its name, the frame count its header announces, and the bodies seen."""

    name: str
    num_frames: int
    bodies: list[NtuBody]


class _Lines:
    """A cursor over a file's lines that reports problems with the file name and line number."""

    def __init__(self, path: Path, lines: list[str]):
        self.path, self.lines, self.i = path, lines, 0

    @classmethod
    def read(cls, path: Path, what: str) -> _Lines:
        """The lines of an ASCII text file; DataError when it cannot be read as ``what``."""
        try:
            return cls(path, path.read_bytes().decode("ascii").splitlines())
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(f"{path}: cannot read as {what}: {e}") from None

    def error(self, what: str, line: int | None = None) -> DataError:
        return DataError(f"{self.path}: line {(self.i if line is None else line) + 1}: {what}")

    def next(self, what: str) -> str:
        if self.i >= len(self.lines):
            raise DataError(f"{self.path}: file ends early (truncated?) while reading {what}")
        self.i += 1
        return self.lines[self.i - 1]

    def count(self, what: str, lo: int, hi: int) -> int:
        text = self.next(what).strip()
        try:
            value = int(text)
        except ValueError:
            raise self.error(f"{what}: expected an integer, got {text[:40]!r}", self.i - 1) from None
        if not lo <= value <= hi:
            raise self.error(f"{what} is {value}, expected {lo}..{hi}", self.i - 1)
        return value


def read_skeleton(path: str | Path) -> NtuSkeleton:
    """Parse a raw NTU ``.skeleton`` file into its bodies (frames without bodies simply have none)."""
    path = Path(path)
    cur = _Lines.read(path, "an NTU text file")
    num_frames = cur.count("frame count", 0, 100_000)
    records: list[tuple[str, int, list[str], int]] = []  # (body id, frame, info fields, first joint line)
    for t in range(num_frames):
        for b in range(cur.count(f"frame {t}: body count", 0, MAX_BODIES_PER_FRAME)):
            info = cur.next(f"frame {t} body {b} info").split()
            if len(info) != 10:
                raise cur.error(f"frame {t} body {b}: info line has {len(info)} fields, expected 10", cur.i - 1)
            cur.count(f"frame {t} body {b}: joint count (wrong joint count?)", NUM_JOINTS, NUM_JOINTS)
            if cur.i + NUM_JOINTS > len(cur.lines):
                raise DataError(f"{path}: file ends early (truncated?) in frame {t} body {b}")
            records.append((info[0], t, info[1:], cur.i))
            cur.i += NUM_JOINTS
    if any(line.strip() for line in cur.lines[cur.i :]):
        raise cur.error(f"unexpected data after the {num_frames} frames the header announced")

    rows = [cur.lines[start + j].split() for *_, start in records for j in range(NUM_JOINTS)]
    for k, row in enumerate(rows):
        if len(row) != 12:
            raise cur.error(f"joint line has {len(row)} fields, expected 12", records[k // NUM_JOINTS][3] + k % NUM_JOINTS)
    joints = _floats(rows, cur, lambda k: records[k // NUM_JOINTS][3] + k % NUM_JOINTS)
    info = _floats([r[2] for r in records], cur, lambda k: records[k][3] - 2)
    joints = joints.reshape(len(records), NUM_JOINTS, 12)

    by_id: dict[str, list[int]] = {}  # body id -> record indices, in order of first appearance
    for k, (body_id, *_) in enumerate(records):
        by_id.setdefault(body_id, []).append(k)
    bodies = [
        NtuBody(body_id, np.array([records[k][1] for k in ks]), info[ks].reshape(len(ks), 9), joints[ks])
        for body_id, ks in by_id.items()
    ]
    return NtuSkeleton(path.stem, num_frames, bodies)


def _floats(rows: list[list[str]], cur: _Lines, line_of) -> np.ndarray:
    """float32 array of string rows; DataError naming the line with garbage, NaN or inf."""
    try:
        arr = np.array(rows, dtype=np.float32)
        if np.isfinite(arr).all():
            return arr
    except ValueError:
        pass
    for k, row in enumerate(rows):  # slow path, only for a bad file: find the line to blame
        try:
            ok = np.isfinite(np.array(row, dtype=np.float32)).all()
        except ValueError:
            ok = False
        if not ok:
            raise cur.error(f"not finite numbers: {' '.join(row)[:80]!r}", line_of(k))
    raise DataError(f"{cur.path}: unreadable numbers")


# -- denoising (the field's get_raw_denoised_data, on true frame indices) -------------------------------


class MissingSkeleton(DataError):
    """A sample with no body in any frame (NTU's 'missing skeleton' samples)."""


def _motion(xyz: np.ndarray) -> float:
    """Activity of a body: summed per-joint variance over time (the field's main-actor heuristic)."""
    return float(np.sum(np.var(xyz, axis=0)))


def denoise(skel: NtuSkeleton) -> np.ndarray:
    """The two main actors as float32 [2, T, 25, 3], frames where neither is present removed.

    With several bodies: drop bodies seen in <= 11 frames, drop bodies whose x/y spread marks most
    frames as not a person, rank the rest by motion and fill two actor slots in that order (a body
    joins a slot whose time span it does not overlap; others are dropped).
    """
    bodies = list(skel.bodies)
    if not bodies:
        raise MissingSkeleton(f"{skel.name}: no body in any of its {skel.num_frames} frames (missing skeleton)")
    motion = {id(b): _motion(b.xyz) for b in bodies}
    if len(bodies) > 1:
        long_enough = [b for b in bodies if len(b.frames) > NOISE_LEN_THRES]
        bodies = long_enough or [max(bodies, key=lambda b: len(b.frames))]
        for b in list(bodies):
            if len(bodies) == 1:
                break
            xyz = b.xyz
            spread = np.ptp(xyz[..., :2], axis=1)  # [n, 2] x and y spread per frame
            valid = spread[:, 0] <= NOISE_SPR_THRES1 * spread[:, 1]
            noisy = len(valid) - int(valid.sum())
            if noisy / len(valid) >= NOISE_SPR_THRES2:
                bodies.remove(b)
            elif noisy:
                motion[id(b)] = min(motion[id(b)], float(np.sum(np.var(xyz[valid].reshape(-1, 3), axis=0))))
        bodies.sort(key=lambda b: motion[id(b)], reverse=True)

    out = np.zeros((MAX_BODIES, skel.num_frames, NUM_JOINTS, 3), dtype=np.float32)
    spans = [(bodies[0].frames[0], bodies[0].frames[-1]), (0, 0)]  # slot 2 starts as the field's virtual [0, 0]
    out[0, bodies[0].frames] = bodies[0].xyz
    for b in bodies[1:]:
        start, end = b.frames[0], b.frames[-1]
        for slot, (s, e) in enumerate(spans):
            if min(e, end) - max(s, start) <= 0:  # no overlap in time (the field's test)
                out[slot, b.frames] = b.xyz
                spans[slot] = (min(s, start), max(e, end))
                break
    present = (out != 0).any(axis=(0, 2, 3))
    if not present.any():
        raise MissingSkeleton(f"{skel.name}: every joint of every body is zero (missing skeleton)")
    return out[:, present]


def load_ntu_sample(path: str | Path) -> np.ndarray:
    """Parse and denoise one file: float32 [2, T, 25, 3]."""
    return denoise(read_skeleton(path))

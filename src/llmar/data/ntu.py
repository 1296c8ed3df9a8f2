"""NTU RGB+D 60/120: the raw ``.skeleton`` parser, the field's denoising, the published splits and
lists, and :func:`prepare_ntu`, which converts a raw folder to the generic ``.npz`` once.

Samples on the published missing-skeleton list (or a user-given list), files with no body in any
frame, and sequences shorter than ``min_frames`` after denoising are skipped with a logged warning.
Malformed files raise :class:`DataError` (or are skipped with a warning under ``on_error="skip"``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.generic_npz import save_npz
from llmar.data.layout import NTU25
from llmar.data.ntu_classes import ntu_class_names

log = logging.getLogger(__name__)

NUM_JOINTS = 25
MAX_BODIES = 2  # the field keeps two actors
MAX_BODIES_PER_FRAME = 6  # Kinect v2 tracks at most six people; more means a corrupt count

# Denoising thresholds of the field's NTU preprocessing (get_raw_denoised_data.py in CTR-GCN et al.)
NOISE_LEN_THRES = 11  # bodies seen in at most this many frames are noise
NOISE_SPR_THRES1 = 0.8  # a frame is noisy when x-spread > 0.8 * y-spread (not an upright person)
NOISE_SPR_THRES2 = 0.69754  # a body is noise when at least this fraction of its frames are

# -- names and published lists ------------------------------------------------------------------------

NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


@dataclass(frozen=True)
class NtuName:
    """The fields of an NTU sample name SsssCcccPpppRrrrAaaa (action is 1-based)."""

    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    @property
    def name(self) -> str:
        return f"S{self.setup:03d}C{self.camera:03d}P{self.performer:03d}R{self.replication:03d}A{self.action:03d}"


def parse_ntu_name(name: str | Path) -> NtuName:
    """Parse 'S001C002P003R002A013' (a path or a file name works too)."""
    m = NTU_NAME.search(Path(name).name)
    if m is None:
        raise DataError(f"{name}: not an NTU sample name (expected SsssCcccPpppRrrrAaaa)")
    info = NtuName(*(int(g) for g in m.groups()))
    if not 1 <= info.action <= 120:
        raise DataError(f"{name}: unknown label A{info.action:03d} (NTU actions are A001..A120)")
    return info


# Cross-subject training performers: NTU60 (Shahroudy et al. 2016) and NTU120 (Liu et al. 2019)
NTU60_XSUB_TRAIN = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN + (
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93,
    94, 95, 97, 98, 100, 103,
)  # fmt: skip
XVIEW_TRAIN_CAMERAS = (2, 3)  # cross-view: camera 1 is the test view
BENCHMARKS = ("xsub", "xview", "xset")


def split_tag(info: NtuName, benchmark: str, num_classes: int = 60) -> str:
    """'train' or 'test' for a sample under X-Sub, X-View or X-Set (even setup ids train)."""
    if benchmark == "xsub":
        train = info.performer in (NTU60_XSUB_TRAIN if num_classes == 60 else NTU120_XSUB_TRAIN)
    elif benchmark == "xview":
        train = info.camera in XVIEW_TRAIN_CAMERAS
    elif benchmark == "xset":
        train = info.setup % 2 == 0
    else:
        raise ValueError(f"unknown NTU benchmark {benchmark!r}; choose from {BENCHMARKS}")
    return "train" if train else "test"


def read_missing_file(path: str | Path) -> set[str]:
    """Sample names in a text file (the official lists start with prose lines; only names count)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        raise DataError(f"{path}: cannot read missing-sample list: {e}") from None
    return {m.group(0) for m in NTU_NAME.finditer(text)}


def missing_skeletons(num_classes: int = 120, extra: str | Path | None = None) -> set[str]:
    """The published samples with missing skeletons (302 in NTU60, 535 in NTU120), plus a user list."""
    names = set(_MISSING_120.split())
    if num_classes == 60:
        names = {n for n in names if int(n[1:4]) <= 17}
    return names | (read_missing_file(extra) if extra is not None else set())


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


# -- folders to datasets --------------------------------------------------------------------------------


def find_skeleton_files(raw_dir: str | Path | Sequence[str | Path]) -> list[Path]:
    """All ``*.skeleton`` files under one or more folders (NTU120 comes as two zips), sorted by name."""
    dirs = [raw_dir] if isinstance(raw_dir, (str, Path)) else list(raw_dir)
    files = []
    for d in map(Path, dirs):
        if not d.is_dir():
            raise DataError(f"{d}: not a folder of NTU .skeleton files")
        files += d.rglob("*.skeleton")
    if not files:
        raise DataError(f"{', '.join(map(str, dirs))}: no .skeleton files found")
    return sorted(files, key=lambda p: p.name)


def _select(files: list[Path], num_classes: int | None, missing_file) -> tuple[list[Path], list[NtuName], int]:
    """Parse names, infer the class count, drop samples outside it and those on the missing lists."""
    infos = [parse_ntu_name(f) for f in files]
    if num_classes is None:
        num_classes = 120 if any(i.action > 60 or i.setup > 17 for i in infos) else 60
    if num_classes not in (60, 120):
        raise ValueError(f"NTU has 60 or 120 classes, not {num_classes}")
    if num_classes == 60:
        keep = [k for k, i in enumerate(infos) if i.action <= 60 and i.setup <= 17]
        if len(keep) < len(files):
            log.info("NTU60: leaving out %d NTU120-only samples", len(files) - len(keep))
        files, infos = [files[k] for k in keep], [infos[k] for k in keep]
    missing = missing_skeletons(num_classes, missing_file)
    listed = [k for k, i in enumerate(infos) if i.name in missing]
    if listed:
        shown = ", ".join(infos[k].name for k in listed[:3])
        log.warning("skipping %d samples listed as missing skeletons (%s%s)", len(listed), shown,
                    ", ..." if len(listed) > 3 else "")  # fmt: skip
        listed_set = set(listed)
        files = [f for k, f in enumerate(files) if k not in listed_set]
        infos = [i for k, i in enumerate(infos) if k not in listed_set]
    return files, infos, num_classes


def _process(path: Path) -> tuple[np.ndarray | None, str | None, bool]:
    """Worker: (sequence, problem, is_error). Errors travel back as text so the parent applies on_error."""
    try:
        return load_ntu_sample(path), None, False
    except MissingSkeleton as e:
        return None, str(e), False
    except DataError as e:
        return None, str(e), True


def _parsed(files: list[Path], workers: int, progress: bool) -> Iterator[tuple]:
    bar = tqdm(total=len(files), desc="parsing NTU skeletons", unit="file", disable=not progress)
    with bar:
        if workers <= 1:
            for f in files:
                yield _process(f)
                bar.update()
        else:
            with Pool(workers) as pool:
                for out in pool.imap(_process, files, chunksize=16):
                    yield out
                    bar.update()


def _collect(files, infos, x_out, benchmark, num_classes, max_frames, workers, on_error, min_frames, progress):
    """Parse ``files`` into consecutive rows of ``x_out``; returns the kept samples' metadata."""
    lengths, labels, split, names = [], [], [], []
    parsed = _parsed(files, workers, progress)
    try:
        for path, info, (seq, problem, is_error) in zip(files, infos, parsed, strict=True):
            if is_error and on_error == "raise":
                raise DataError(problem)
            if seq is None:
                log.warning("skipping %s", problem)
                continue
            if seq.shape[1] < max(min_frames, 1):
                log.warning("skipping %s: only %d frame(s) after denoising", path, seq.shape[1])
                continue
            if seq.shape[1] > max_frames:
                log.warning("%s: %d frames, keeping the first %d", path, seq.shape[1], max_frames)
                seq = seq[:, :max_frames]
            x_out[len(lengths), :, : seq.shape[1]] = seq
            lengths.append(seq.shape[1])
            labels.append(info.action - 1)
            split.append(split_tag(info, benchmark, num_classes))
            names.append(info.name)
    finally:
        parsed.close()  # stops the worker pool at once when a bad file aborts the run
    if not lengths:
        raise DataError(f"{files[0].parent if files else '?'}: no usable NTU samples")
    return np.array(lengths), np.array(labels), np.array(split), np.array(names)


def _check_options(benchmark: str, on_error: str) -> None:
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown NTU benchmark {benchmark!r}; choose from {BENCHMARKS}")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")


def load_ntu_raw(
    raw_dir: str | Path | Sequence[str | Path],
    benchmark: str = "xsub",
    num_classes: int | None = None,
    max_frames: int = 300,
    workers: int = 1,
    missing_file: str | Path | None = None,
    on_error: str = "raise",
    min_frames: int = 2,
    progress: bool = False,
) -> SkeletonDataset:
    """Parse a folder of raw files straight into memory (fine for small sets; use prepare_ntu for NTU)."""
    _check_options(benchmark, on_error)
    files, infos, num_classes = _select(find_skeleton_files(raw_dir), num_classes, missing_file)
    x = np.zeros((len(files), MAX_BODIES, max_frames, NUM_JOINTS, 3), dtype=np.float32)
    lengths, y, split, names = _collect(
        files, infos, x, benchmark, num_classes, max_frames, workers, on_error, min_frames, progress
    )
    return SkeletonDataset(
        x=x[: len(y)], lengths=lengths, y=y, classes=ntu_class_names(num_classes), split=split, layout=NTU25,
        names=names, source=str(raw_dir),
    )  # fmt: skip


def prepare_ntu(
    raw_dir: str | Path | Sequence[str | Path],
    out_path: str | Path,
    benchmark: str = "xsub",
    num_classes: int | None = None,
    max_frames: int = 300,
    workers: int | None = None,
    missing_file: str | Path | None = None,
    on_error: str = "raise",
    min_frames: int = 2,
    progress: bool = True,
) -> Path:
    """Parse and denoise every raw file once and write the generic ``.npz`` (memory-mappable).

    ``num_classes`` None infers 60 or 120 from the file names; with 60, NTU120-only samples are left
    out. Sequences are zero-padded (or cut, with a warning) to ``max_frames``. Samples are parsed in
    ``workers`` processes (default: CPU count, at most 8) into a sparse temporary file next to
    ``out_path``, so memory stays flat at NTU120 size.
    """
    _check_options(benchmark, on_error)
    out_path = Path(out_path)
    workers = workers if workers is not None else min(8, os.cpu_count() or 1)
    files, infos, num_classes = _select(find_skeleton_files(raw_dir), num_classes, missing_file)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.x.npy")
    x = np.lib.format.open_memmap(
        tmp, mode="w+", dtype=np.float32, shape=(len(files), MAX_BODIES, max_frames, NUM_JOINTS, 3)
    )
    try:
        lengths, y, split, names = _collect(
            files, infos, x, benchmark, num_classes, max_frames, workers, on_error, min_frames, progress
        )
        ds = SkeletonDataset(
            x=x[: len(y)], lengths=lengths, y=y, classes=ntu_class_names(num_classes), split=split,
            layout=NTU25, names=names, source=str(raw_dir),
        )  # fmt: skip
        save_npz(ds, out_path)
        tags, counts = np.unique(split, return_counts=True)
        log.info("wrote %s: %s", out_path, ", ".join(f"{n} {t}" for t, n in zip(tags, counts, strict=True)))
    finally:
        del x
        tmp.unlink(missing_ok=True)
    return out_path


# The official NTU_RGBD120_samples_with_missing_skeletons.txt (github.com/shahroudy/NTURGB-D);
# its S001..S017 entries are the 302 of NTU_RGBD_samples_with_missing_skeletons.txt.
_MISSING_120 = """
    S001C002P005R002A008 S001C002P006R001A008 S001C003P002R001A055 S001C003P002R002A012 S001C003P005R002A004
    S001C003P005R002A005 S001C003P005R002A006 S001C003P006R002A008 S002C002P011R002A030 S002C003P008R001A020
    S002C003P010R002A010 S002C003P011R002A007 S002C003P011R002A011 S002C003P014R002A007 S003C001P019R001A055
    S003C002P002R002A055 S003C002P018R002A055 S003C003P002R001A055 S003C003P016R001A055 S003C003P018R002A024
    S004C002P003R001A013 S004C002P008R001A009 S004C002P020R001A003 S004C002P020R001A004 S004C002P020R001A012
    S004C002P020R001A020 S004C002P020R001A021 S004C002P020R001A036 S005C002P004R001A001 S005C002P004R001A003
    S005C002P010R001A016 S005C002P010R001A017 S005C002P010R001A048 S005C002P010R001A049 S005C002P016R001A009
    S005C002P016R001A010 S005C002P018R001A003 S005C002P018R001A028 S005C002P018R001A029 S005C003P016R002A009
    S005C003P018R002A013 S005C003P021R002A057 S006C001P001R002A055 S006C002P007R001A005 S006C002P007R001A006
    S006C002P016R001A043 S006C002P016R001A051 S006C002P016R001A052 S006C002P022R001A012 S006C002P023R001A020
    S006C002P023R001A021 S006C002P023R001A022 S006C002P023R001A023 S006C002P024R001A018 S006C002P024R001A019
    S006C003P001R002A013 S006C003P007R002A009 S006C003P007R002A010 S006C003P007R002A025 S006C003P016R001A060
    S006C003P017R001A055 S006C003P017R002A013 S006C003P017R002A014 S006C003P017R002A015 S006C003P022R002A013
    S007C001P018R002A050 S007C001P025R002A051 S007C001P028R001A050 S007C001P028R001A051 S007C001P028R001A052
    S007C002P008R002A008 S007C002P015R002A055 S007C002P026R001A008 S007C002P026R001A009 S007C002P026R001A010
    S007C002P026R001A011 S007C002P026R001A012 S007C002P026R001A050 S007C002P027R001A011 S007C002P027R001A013
    S007C002P028R002A055 S007C003P007R001A002 S007C003P007R001A004 S007C003P019R001A060 S007C003P027R002A001
    S007C003P027R002A002 S007C003P027R002A003 S007C003P027R002A004 S007C003P027R002A005 S007C003P027R002A006
    S007C003P027R002A007 S007C003P027R002A008 S007C003P027R002A009 S007C003P027R002A010 S007C003P027R002A011
    S007C003P027R002A012 S007C003P027R002A013 S008C002P001R001A009 S008C002P001R001A010 S008C002P001R001A014
    S008C002P001R001A015 S008C002P001R001A016 S008C002P001R001A018 S008C002P001R001A019 S008C002P008R002A059
    S008C002P025R001A060 S008C002P029R001A004 S008C002P031R001A005 S008C002P031R001A006 S008C002P032R001A018
    S008C002P034R001A018 S008C002P034R001A019 S008C002P035R001A059 S008C002P035R002A002 S008C002P035R002A005
    S008C003P007R001A009 S008C003P007R001A016 S008C003P007R001A017 S008C003P007R001A018 S008C003P007R001A019
    S008C003P007R001A020 S008C003P007R001A021 S008C003P007R001A022 S008C003P007R001A023 S008C003P007R001A025
    S008C003P007R001A026 S008C003P007R001A028 S008C003P007R001A029 S008C003P007R002A003 S008C003P008R002A050
    S008C003P025R002A002 S008C003P025R002A011 S008C003P025R002A012 S008C003P025R002A016 S008C003P025R002A020
    S008C003P025R002A022 S008C003P025R002A023 S008C003P025R002A030 S008C003P025R002A031 S008C003P025R002A032
    S008C003P025R002A033 S008C003P025R002A049 S008C003P025R002A060 S008C003P031R001A001 S008C003P031R002A004
    S008C003P031R002A014 S008C003P031R002A015 S008C003P031R002A016 S008C003P031R002A017 S008C003P032R002A013
    S008C003P033R002A001 S008C003P033R002A011 S008C003P033R002A012 S008C003P034R002A001 S008C003P034R002A012
    S008C003P034R002A022 S008C003P034R002A023 S008C003P034R002A024 S008C003P034R002A044 S008C003P034R002A045
    S008C003P035R002A016 S008C003P035R002A017 S008C003P035R002A018 S008C003P035R002A019 S008C003P035R002A020
    S008C003P035R002A021 S009C002P007R001A001 S009C002P007R001A003 S009C002P007R001A014 S009C002P008R001A014
    S009C002P015R002A050 S009C002P016R001A002 S009C002P017R001A028 S009C002P017R001A029 S009C003P017R002A030
    S009C003P025R002A054 S010C001P007R002A020 S010C002P016R002A055 S010C002P017R001A005 S010C002P017R001A018
    S010C002P017R001A019 S010C002P019R001A001 S010C002P025R001A012 S010C003P007R002A043 S010C003P008R002A003
    S010C003P016R001A055 S010C003P017R002A055 S011C001P002R001A008 S011C001P018R002A050 S011C002P008R002A059
    S011C002P016R002A055 S011C002P017R001A020 S011C002P017R001A021 S011C002P018R002A055 S011C002P027R001A009
    S011C002P027R001A010 S011C002P027R001A037 S011C003P001R001A055 S011C003P002R001A055 S011C003P008R002A012
    S011C003P015R001A055 S011C003P016R001A055 S011C003P019R001A055 S011C003P025R001A055 S011C003P028R002A055
    S012C001P019R001A060 S012C001P019R002A060 S012C002P015R001A055 S012C002P017R002A012 S012C002P025R001A060
    S012C003P008R001A057 S012C003P015R001A055 S012C003P015R002A055 S012C003P016R001A055 S012C003P017R002A055
    S012C003P018R001A055 S012C003P018R001A057 S012C003P019R002A011 S012C003P019R002A012 S012C003P025R001A055
    S012C003P027R001A055 S012C003P027R002A009 S012C003P028R001A035 S012C003P028R002A055 S013C001P015R001A054
    S013C001P017R002A054 S013C001P018R001A016 S013C001P028R001A040 S013C002P015R001A054 S013C002P017R002A054
    S013C002P028R001A040 S013C003P008R002A059 S013C003P015R001A054 S013C003P017R002A054 S013C003P025R002A022
    S013C003P027R001A055 S013C003P028R001A040 S014C001P027R002A040 S014C002P015R001A003 S014C002P019R001A029
    S014C002P025R002A059 S014C002P027R002A040 S014C002P039R001A050 S014C003P007R002A059 S014C003P015R002A055
    S014C003P019R002A055 S014C003P025R001A048 S014C003P027R002A040 S015C001P008R002A040 S015C001P016R001A055
    S015C001P017R001A055 S015C001P017R002A055 S015C002P007R001A059 S015C002P008R001A003 S015C002P008R001A004
    S015C002P008R002A040 S015C002P015R001A002 S015C002P016R001A001 S015C002P016R002A055 S015C003P008R002A007
    S015C003P008R002A011 S015C003P008R002A012 S015C003P008R002A028 S015C003P008R002A040 S015C003P025R002A012
    S015C003P025R002A017 S015C003P025R002A020 S015C003P025R002A021 S015C003P025R002A030 S015C003P025R002A033
    S015C003P025R002A034 S015C003P025R002A036 S015C003P025R002A037 S015C003P025R002A044 S016C001P019R002A040
    S016C001P025R001A011 S016C001P025R001A012 S016C001P025R001A060 S016C001P040R001A055 S016C001P040R002A055
    S016C002P008R001A011 S016C002P019R002A040 S016C002P025R002A012 S016C003P008R001A011 S016C003P008R002A002
    S016C003P008R002A003 S016C003P008R002A004 S016C003P008R002A006 S016C003P008R002A009 S016C003P019R002A040
    S016C003P039R002A016 S017C001P016R002A031 S017C002P007R001A013 S017C002P008R001A009 S017C002P015R001A042
    S017C002P016R002A031 S017C002P016R002A055 S017C003P007R002A013 S017C003P008R001A059 S017C003P016R002A031
    S017C003P017R001A055 S017C003P020R001A059 S019C001P046R001A075 S019C002P042R001A094 S019C002P042R001A095
    S019C002P042R001A096 S019C002P042R001A097 S019C002P042R001A098 S019C002P042R001A099 S019C002P042R001A100
    S019C002P042R001A101 S019C002P042R001A102 S019C002P049R002A074 S019C002P049R002A079 S019C002P051R001A061
    S019C003P046R001A061 S019C003P046R002A061 S019C003P046R002A062 S020C002P041R001A063 S020C002P041R001A064
    S020C002P044R001A063 S020C002P044R001A064 S020C002P044R001A066 S020C002P044R001A084 S020C002P054R001A081
    S021C001P059R001A108 S021C002P055R001A065 S021C002P055R001A092 S021C002P055R001A093 S021C002P057R001A064
    S021C002P058R001A063 S021C002P058R001A064 S021C002P059R001A074 S021C002P059R001A075 S021C002P059R001A076
    S021C002P059R001A077 S021C002P059R001A078 S021C002P059R001A079 S021C003P057R002A078 S021C003P057R002A079
    S021C003P057R002A094 S022C002P061R001A113 S022C003P061R002A061 S022C003P061R002A062 S022C003P063R002A061
    S022C003P063R002A062 S022C003P063R002A063 S022C003P063R002A064 S022C003P063R002A078 S022C003P064R002A061
    S022C003P064R002A062 S022C003P065R002A061 S022C003P065R002A062 S022C003P065R002A119 S022C003P067R002A064
    S023C002P055R001A114 S023C002P055R002A092 S023C002P059R001A075 S023C002P063R001A075 S023C003P055R002A093
    S023C003P055R002A094 S023C003P061R002A061 S023C003P064R001A092 S024C001P063R001A109 S024C002P062R002A074
    S024C002P067R001A100 S024C002P067R001A101 S024C002P067R001A102 S024C002P067R001A103 S024C003P062R002A074
    S024C003P063R002A061 S024C003P063R002A062 S025C001P055R002A119 S025C003P056R002A119 S025C003P059R002A115
    S026C002P044R001A061 S026C002P044R001A062 S026C002P070R001A092 S026C003P069R002A075 S026C003P074R002A061
    S026C003P074R002A062 S026C003P075R001A117 S026C003P075R001A118 S027C001P082R001A063 S027C002P044R002A092
    S027C002P079R001A061 S027C002P079R001A062 S027C002P079R001A063 S027C002P079R001A064 S027C002P082R001A092
    S027C002P084R001A061 S027C002P084R001A062 S027C002P086R001A061 S027C003P041R002A087 S027C003P080R002A061
    S027C003P082R002A061 S027C003P082R002A062 S027C003P086R002A061 S027C003P086R002A062 S028C001P087R001A061
    S028C002P041R001A091 S028C002P087R001A061 S028C003P042R002A064 S028C003P046R002A063 S028C003P046R002A066
    S028C003P046R002A067 S028C003P046R002A068 S028C003P046R002A069 S028C003P046R002A070 S028C003P046R002A071
    S028C003P046R002A072 S028C003P046R002A074 S028C003P046R002A075 S028C003P046R002A077 S028C003P046R002A081
    S028C003P046R002A082 S028C003P046R002A083 S028C003P046R002A084 S028C003P048R002A061 S028C003P048R002A062
    S028C003P048R002A073 S028C003P073R002A073 S028C003P087R001A061 S028C003P087R002A061 S028C003P087R002A062
    S029C001P043R002A092 S029C001P044R002A092 S029C001P048R001A073 S029C001P089R001A063 S029C002P041R001A074
    S029C002P041R001A084 S029C002P044R001A091 S029C002P048R001A075 S029C002P048R001A081 S029C002P074R001A081
    S029C002P074R001A095 S029C002P074R001A096 S029C002P080R001A091 S029C002P088R001A066 S029C002P089R001A065
    S029C002P090R001A067 S029C003P008R002A065 S029C003P008R002A067 S029C003P041R001A089 S029C003P043R001A080
    S029C003P043R001A092 S029C003P043R001A105 S029C003P043R002A085 S029C003P043R002A086 S029C003P044R002A106
    S029C003P048R001A065 S029C003P048R002A073 S029C003P048R002A074 S029C003P048R002A075 S029C003P048R002A076
    S029C003P048R002A092 S029C003P048R002A094 S029C003P051R002A073 S029C003P051R002A074 S029C003P051R002A075
    S029C003P051R002A076 S029C003P051R002A077 S029C003P051R002A078 S029C003P051R002A079 S029C003P051R002A080
    S029C003P051R002A081 S029C003P051R002A082 S029C003P051R002A083 S029C003P051R002A084 S029C003P051R002A085
    S029C003P051R002A086 S029C003P051R002A110 S029C003P067R001A098 S029C003P074R002A110 S029C003P080R002A066
    S029C003P088R002A078 S029C003P089R001A075 S029C003P089R002A061 S029C003P089R002A062 S029C003P089R002A063
    S029C003P090R002A092 S029C003P090R002A095 S030C002P091R002A091 S030C002P091R002A092 S030C002P091R002A093
    S030C002P091R002A094 S030C002P091R002A095 S030C002P091R002A096 S030C002P091R002A097 S030C002P091R002A098
    S030C002P091R002A099 S030C002P091R002A100 S030C002P091R002A101 S030C002P091R002A102 S030C002P091R002A103
    S030C002P091R002A104 S030C002P091R002A105 S030C003P044R002A065 S030C003P044R002A081 S030C003P044R002A084
    S031C002P042R001A111 S031C002P051R001A061 S031C002P051R001A062 S031C002P067R001A067 S031C002P067R001A068
    S031C002P067R001A069 S031C002P067R001A070 S031C002P067R001A071 S031C002P067R001A072 S031C002P082R001A075
    S031C002P082R002A117 S031C002P097R001A061 S031C002P097R001A062 S031C003P043R002A074 S031C003P043R002A075
    S031C003P044R002A094 S031C003P082R002A067 S031C003P082R002A068 S031C003P082R002A069 S031C003P082R002A070
    S031C003P082R002A071 S031C003P082R002A072 S031C003P082R002A073 S031C003P082R002A075 S031C003P082R002A076
    S031C003P082R002A077 S031C003P082R002A084 S031C003P082R002A085 S031C003P082R002A086 S032C002P067R001A092
    S032C003P067R002A066 S032C003P067R002A067 S032C003P067R002A075 S032C003P067R002A076 S032C003P067R002A077
"""

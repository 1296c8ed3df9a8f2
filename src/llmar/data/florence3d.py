"""Florence 3D Actions: 215 videos, 9 classes, 10 actors, 15 joints; protocol leave-one-actor-out.

One whitespace text file per video, ``aAA_sS_idN.txt`` (class, actor, video id), 15 rows of
x y z millimetres per frame. Split tags are the actors ("actor01".."actor10"); :func:`folds`
gives the ten train/test folds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat, Sample
from llmar.data.layout import FLORENCE15

log = logging.getLogger(__name__)

# readable names for the LLM's answer; the dataset calls class 5 "tight lace"
CLASSES = (
    "wave", "drink from a bottle", "answer phone", "clap", "tie shoelace", "sit down", "stand up",
    "read watch", "bow",
)  # fmt: skip
NUM_JOINTS = 15
_NAME = re.compile(r"a(\d+)_s(\d+)_id(\d+)")


def read_sample(path: Path) -> np.ndarray:
    """float32 [T, 15, 3] in metres from one video file; DataError on anything odd."""
    try:
        lines = [ln.split() for ln in path.read_bytes().decode("ascii").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read as text: {e}") from None
    if not lines:
        raise DataError(f"{path}: empty sequence (no frames)")
    for k, row in enumerate(lines):
        if len(row) != 3:
            raise DataError(f"{path}: row {k + 1} has {len(row)} values, expected x y z")
    if len(lines) % NUM_JOINTS:
        raise DataError(f"{path}: {len(lines)} rows is not a whole number of {NUM_JOINTS}-joint frames")
    try:
        xyz = np.array(lines, dtype=np.float32)
    except ValueError as e:
        raise DataError(f"{path}: non-numeric value: {e}") from None
    if not np.isfinite(xyz).all():
        raise DataError(f"{path}: row {int(np.argmin(np.isfinite(xyz).all(axis=1))) + 1} has NaN or inf")
    return xyz.reshape(-1, NUM_JOINTS, 3) / 1000.0  # millimetres -> metres


def load_florence3d(root: str | Path, min_frames: int = 2) -> SkeletonDataset:
    """Load every ``aAA_sS_idN.txt`` under ``root`` (the dataset folder or its ``florence``)."""
    root = Path(root)
    files = sorted(root.rglob("*.txt"), key=lambda p: p.name)
    files = [f for f in files if _NAME.fullmatch(f.stem)]
    if not files:
        raise DataError(f"{root}: no Florence 3D files (aAA_sS_idN.txt) found")
    samples = []
    for f in files:
        action, actor, _ = (int(g) for g in _NAME.fullmatch(f.stem).groups())
        if not 1 <= action <= len(CLASSES):
            raise DataError(f"{f}: unknown label {action} (classes 1..{len(CLASSES)})")
        if not 1 <= actor <= 99:
            raise DataError(f"{f}: actor id {actor} out of range")
        seq = read_sample(f)
        if len(seq) < min_frames:
            log.warning("%s: skipping, only %d frame(s)", f, len(seq))
            continue
        samples.append((f.stem, action - 1, f"actor{actor:02d}", seq))
    names, labels, actors, seqs = zip(*samples) if samples else ((), (), (), ())
    return SkeletonDataset.from_sequences(list(seqs), labels, CLASSES, actors, FLORENCE15, names, str(root))


def folds(ds: SkeletonDataset) -> Iterator[tuple[np.ndarray, np.ndarray, str]]:
    """Leave-one-actor-out: (train indices, test indices, held-out actor) for each split tag."""
    for actor in sorted(set(ds.split)):
        test = ds.split == actor
        yield np.flatnonzero(~test), np.flatnonzero(test), str(actor)


# -- the format entry ----------------------------------------------------------------------------------


def is_florence_folder(path: Path) -> bool:
    """A folder with ``aAA_sS_idN.txt`` files at any depth."""
    return path.is_dir() and any(_NAME.fullmatch(p.stem) for p in path.rglob("a*_s*_id*.txt"))


def _read_text_sample(path: Path) -> Sample:
    return path.stem, read_sample(path)[None]


FORMAT = DataFormat(
    name="florence3d",
    title="a Florence 3D video",
    load=load_florence3d,
    detect=is_florence_folder,
    layouts=(FLORENCE15,),
    # a lone Florence file may have any name (UAV-Human's are told by theirs), so it takes the other .txt
    sample_suffixes=(".txt",),
    read_sample=_read_text_sample,
)

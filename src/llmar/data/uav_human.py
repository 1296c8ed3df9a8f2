"""UAV-Human (CVPR 2021) skeletons: 155 actions filmed from a drone, 119 subjects, 17 COCO-order joints,
up to two people.

One text file per video, named like ``P000S00G10B10H10UC022000LC021000A000R0_08241716.txt``: P subject,
S setup, G/B/H/UC/LC appearance codes, A action (0..154), R replicate, then the capture time. The text is
laid out as NTU RGB+D's ``.skeleton``: the frame count; per frame the body count; per body an info line,
the joint count (17) and one line per joint whose first three numbers are x y z (further fields, if any,
are ignored). Source: the dataset's toolkit (sutdcv/UAV-Human, ``uavhumanposetools/generate_data.py``
reads x y z of at most 4 bodies and keeps the 2 with the most motion; ``pose_data_tools/graph.py``
gives the COCO joint order). A joint written as 0 0 0 is taken as not found (our reading; the toolkit
keeps the zeros) and filled as :mod:`llmar.data.pose_common` fills a missing joint; people are kept as
there (followed by their order in the frame, the ``max_bodies`` that move most).

Protocols (the repository's README): ``csv1`` and ``csv2`` each train on 89 listed subjects and test on
the other 30; ``train_subjects`` replaces the list. The repository publishes no action names, so
classes are ``action_000`` .. ``action_154`` unless ``class_names`` gives 155 names. ``dims=2``
drops z. Clips longer than ``max_frames`` (default 300, the toolkit's MAX_FRAME) keep that many evenly
spaced frames.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat, Sample, holds
from llmar.data.layout import COCO17
from llmar.data.ntu_skeleton import _floats, _Lines
from llmar.data.pose_common import Person, cap_frames, make_person, named_files, to_bodies

log = logging.getLogger(__name__)

NUM_JOINTS = COCO17.num_joints
NUM_CLASSES = 155
MAX_BODIES_PER_FRAME = 10
NAME = re.compile(r"P(\d+)S(\d+)G(\d+)B(\d+)H(\d+)UC(\d+)LC(\d+)A(\d+)R(\d+)_(\d+)")
# Training subjects of the two cross-subject protocols (github.com/sutdcv/UAV-Human README); the rest test
CSV1_TRAIN = (
    0, 2, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 25, 26, 27, 28, 29, 30, 32, 33, 34, 35, 36,
    37, 38, 39, 40, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 55, 56, 57, 59, 61, 62, 63, 64, 65, 67, 68,
    69, 70, 71, 73, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 98, 100, 102, 103, 105, 106, 110,
    111, 112, 114, 115, 116, 117, 118,
)  # fmt: skip
CSV2_TRAIN = (
    0, 3, 4, 5, 6, 8, 10, 11, 12, 14, 16, 18, 19, 20, 21, 22, 24, 26, 29, 30, 31, 32, 35, 36, 37, 38, 39, 40, 43,
    44, 45, 46, 47, 49, 52, 54, 56, 57, 59, 60, 61, 62, 63, 64, 66, 67, 69, 70, 71, 72, 73, 74, 75, 77, 78, 79,
    80, 81, 83, 84, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 99, 100, 101, 102, 103, 104, 106, 107, 108, 109,
    110, 111, 112, 113, 114, 115, 117, 118,
)  # fmt: skip
TRAIN_SUBJECTS = {"csv1": CSV1_TRAIN, "csv2": CSV2_TRAIN}
CLASSES = tuple(f"action_{i:03d}" for i in range(NUM_CLASSES))


def read_frames(path: str | Path) -> list[list[Person]]:
    """Per-frame people of one skeleton text file (x y z per joint); DataError naming the file and line."""
    path = Path(path)
    cur = _Lines.read(path, "a UAV-Human skeleton text file")
    if not any(line.strip() for line in cur.lines):
        raise DataError(f"{path}: empty file (no frames)")
    num_frames = cur.count("frame count", 0, 100_000)
    frames = []
    for t in range(num_frames):
        people = []
        for b in range(cur.count(f"frame {t}: body count", 0, MAX_BODIES_PER_FRAME)):
            cur.next(f"frame {t} body {b} info line")
            cur.count(f"frame {t} body {b}: joint count (wrong joint count?)", NUM_JOINTS, NUM_JOINTS)
            start = cur.i
            rows = [cur.next(f"frame {t} body {b} joint {j}").split()[:3] for j in range(NUM_JOINTS)]
            for j, row in enumerate(rows):
                if len(row) < 3:
                    raise cur.error(f"joint line has {len(row)} fields, expected x y z", start + j)
            xyz = _floats(rows, cur, lambda k, s=start: s + k)
            found = np.abs(xyz).sum(1) > 0  # 0 0 0: joint not found
            people.append(make_person(xyz, found.astype(np.float32), None, f"{path}: frame {t} body {b}"))
        frames.append(people)
    if any(line.strip() for line in cur.lines[cur.i :]):
        raise cur.error(f"unexpected data after the {num_frames} frames the header announced")
    return frames


def read_uav_sample(path: str | Path, dims: int = 3, max_bodies: int = 2) -> np.ndarray:
    """One file as float32 [M, T, 17, dims]."""
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    return to_bodies(read_frames(path), str(path), 0.5, max_bodies)[..., :dims]


def load_uav_human(
    root: str | Path,
    protocol: str = "csv1",
    train_subjects: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    dims: int = 3,
    max_bodies: int = 2,
    max_frames: int | None = 300,
    min_frames: int = 1,
) -> SkeletonDataset:
    """Every UAV-Human skeleton ``.txt`` under ``root``, tagged train/test by subject (``protocol``)."""
    root = Path(root)
    if train_subjects is None:
        if protocol not in TRAIN_SUBJECTS:
            raise ValueError(f"unknown UAV-Human protocol {protocol!r}; choose from {list(TRAIN_SUBJECTS)}")
        train_subjects = TRAIN_SUBJECTS[protocol]
    train = {int(s) for s in train_subjects}
    classes = CLASSES if class_names is None else tuple(str(c) for c in class_names)
    if len(classes) != NUM_CLASSES:
        raise ValueError(f"class_names has {len(classes)} names; UAV-Human has {NUM_CLASSES} actions")
    samples = []
    for f, m in named_files(root, "*.txt", NAME, "UAV-Human skeleton (P...S...A...R..._....txt)"):
        subject, action = int(m.group(1)), int(m.group(8))
        if not 0 <= action < NUM_CLASSES:
            raise DataError(f"{f}: unknown label A{action:03d} (UAV-Human actions are A000..A{NUM_CLASSES - 1})")
        seq = cap_frames(read_uav_sample(f, dims, max_bodies), max_frames)
        if seq.shape[1] < min_frames:
            log.warning("%s: skipping, only %d frame(s) with a person", f, seq.shape[1])
            continue
        samples.append((f.stem, action, "train" if subject in train else "test", seq))
    if not samples:
        raise DataError(f"{root}: no usable UAV-Human skeleton files")
    names, labels, tags, seqs = zip(*samples)
    return SkeletonDataset.from_sequences(list(seqs), labels, classes, tags, COCO17, names, str(root))


# -- the format entry ----------------------------------------------------------------------------------


def _read_text_sample(path: Path) -> Sample:
    return path.stem, read_uav_sample(path)


FORMAT = DataFormat(
    name="uav_human",
    title="a UAV-Human video",
    load=load_uav_human,
    detect=lambda path: holds(path, "P[0-9]*S[0-9]*G*B*H*UC*LC*A[0-9]*R[0-9]*_*.txt"),
    layouts=(COCO17,),
    sample_suffixes=(".txt",),
    is_sample=lambda path: NAME.fullmatch(path.stem) is not None,  # its files are told by their names
    read_sample=_read_text_sample,
)

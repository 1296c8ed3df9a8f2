"""Northwestern-UCLA Multiview Action3D in the ``all_sqe`` JSON form (CTR-GCN et al.).

One JSON per sample: {"file_name": "aAA_sSS_eEE_vVV", "label": 1..10, "skeletons": [T][20][3]}, metres,
Kinect v1 joint order. Standard protocol: views 1 and 2 train, view 3 tests (1020 / 464 samples).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat, Sample
from llmar.data.layout import KINECT20

log = logging.getLogger(__name__)

# label 1..10 <- action ids a01..a12 (a07 and a10 are not in the set); names as the LLM should answer
ACTION_IDS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
CLASSES = (
    "pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down",
    "stand up", "donning", "doffing", "throw", "carry",
)  # fmt: skip
TRAIN_VIEWS = (1, 2)
_NAME = re.compile(r"a(\d{2})_s(\d{2})_e(\d{2})_v(\d{2})")


def read_sample(path: Path) -> tuple[str, int, int, np.ndarray]:
    """(name, label 0..9, view, float32 [T, 20, 3]) of one JSON file; DataError on anything odd."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DataError(f"{path}: not readable JSON: {e}") from None
    if not isinstance(data, dict) or not {"file_name", "label", "skeletons"} <= set(data):
        raise DataError(f"{path}: expected an object with file_name, label and skeletons")
    name = str(data["file_name"])
    m = _NAME.fullmatch(name)
    if m is None:
        raise DataError(f"{path}: file_name {name!r} is not aAA_sSS_eEE_vVV")
    action, _, _, view = (int(g) for g in m.groups())
    label = data["label"]
    if action not in ACTION_IDS or type(label) is not int or label != ACTION_IDS.index(action) + 1:
        raise DataError(f"{path}: unknown label {label!r} for action a{action:02d}")
    try:
        skel = np.array(data["skeletons"], dtype=np.float32)
    except (ValueError, TypeError) as e:  # ragged or non-numeric
        raise DataError(f"{path}: skeletons is not a [T][20][3] number array: {e}") from None
    if skel.ndim == 0 or len(skel) == 0:
        raise DataError(f"{path}: empty sequence (no frames)")
    if skel.ndim != 3 or skel.shape[1:] != (20, 3):
        raise DataError(f"{path}: skeletons has shape {skel.shape}, expected [T, 20, 3] (wrong joint count?)")
    if not np.isfinite(skel).all():
        raise DataError(f"{path}: contains NaN or inf")
    return name, label - 1, view, skel


def load_nw_ucla(root: str | Path, min_frames: int = 1) -> SkeletonDataset:
    """Load every ``*.json`` under ``root`` (the ``nw_ucla`` folder or its ``all_sqe``).

    ``min_frames`` defaults to 1 because the standard 1020/464 protocol keeps the two one-frame
    samples (a02_s09_e04_v02/v03); ``min_frames=2`` skips them with a warning.
    """
    root = Path(root)
    folder = root / "all_sqe" if (root / "all_sqe").is_dir() else root
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DataError(f"{root}: no NW-UCLA .json files found")
    samples = []
    for f in files:
        name, label, view, skel = read_sample(f)
        if len(skel) < min_frames:
            log.warning("%s: skipping, only %d frame(s)", f, len(skel))
            continue
        samples.append((name, label, view, skel))
    names, labels, views, seqs = zip(*samples) if samples else ((), (), (), ())
    split = ["train" if v in TRAIN_VIEWS else "test" for v in views]
    return SkeletonDataset.from_sequences(list(seqs), labels, CLASSES, split, KINECT20, names, str(root))


# -- the format entry ----------------------------------------------------------------------------------


def is_nw_ucla_folder(path: Path) -> bool:
    """The dataset folder (with ``all_sqe/``) or ``all_sqe`` itself (its ``aAA_sSS_eEE_vVV.json`` files)."""
    if not path.is_dir():
        return False
    return (path / "all_sqe").is_dir() or next(path.glob("a[0-9][0-9]_s[0-9][0-9]_e*_v*.json"), None) is not None


def _read_json_sample(path: Path) -> Sample:
    name, _, _, skel = read_sample(path)
    return name, skel[None]


FORMAT = DataFormat(
    name="nw_ucla",
    title="a NW-UCLA sample",
    load=load_nw_ucla,
    detect=is_nw_ucla_folder,
    layouts=(KINECT20,),
    # a lone NW-UCLA sample is told by nothing but its content, so it takes the JSON no other format claims
    sample_suffixes=(".json",),
    read_sample=_read_json_sample,
)

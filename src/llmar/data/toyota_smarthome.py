"""Toyota Smarthome (trimmed): 16k videos of daily living, 31 activities, 18 subjects, 7 cameras, skeletons
estimated by LCR-Net++ (13 joints, 2D pixels and 3D).

One JSON per video, ``<Activity>_p<PP>_r<RR>_v<VV>_c<CC>.json`` (activity, subject, repetition, view,
camera), ``{"frames": [[detection, ...], ...]}``: a frame is the list of people LCR-Net++ found in it
(``[]`` when none), a detection ``{"pose2d": [26 numbers], "pose3d": [39 numbers], "cumscore": s}``.
The arrays are coordinate-major, all x then all y (then all z), joints in LCR-Net++'s order
(:data:`~llmar.data.layout.TOYOTA13`); ``cumscore`` is the detection's score (an unnormalised sum,
optional here). Sources: the dataset's tools (dairui01/Toyota_Smarthome, json_to_npz.py) and the
skeleton ports linked from its project page (YangDi666/2s-AGCN-For-Daily-Living and YangDi666/UNIK,
``data_gen/smarthome_gendata.py``), which also give the protocols:

* ``cs``: subjects 3, 4, 6, 7, 9, 12, 13, 15, 17, 19, 25 train, the rest test; all 31 activities;
* ``cv1``: camera 1 train, camera 2 test, camera 5 ``val``; the 19 activities seen by every camera;
* ``cv2``: cameras 1, 3, 4, 6, 7 train, camera 2 test, camera 5 ``val``; the same 19 activities.

Videos of activities or cameras outside the protocol are not loaded. Results are reported as mean class
accuracy. Class names are the activities made readable (``Cook.Cleandishes`` -> ``cook: clean dishes``,
:data:`READABLE`). Detections become people as in :mod:`llmar.data.pose_common` (a detection's score is
the confidence of all its joints; ``min_confidence`` 0 keeps every detection LCR-Net++ kept), the
``max_bodies`` (default 1: one subject per video) that move most are kept, and clips longer than
``max_frames`` (default 300) keep that many evenly spaced frames.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat, Sample, holds, read_head
from llmar.data.layout import TOYOTA13
from llmar.data.pose_common import Person, cap_frames, json_frames, make_person, named_files, to_bodies

log = logging.getLogger(__name__)

NUM_JOINTS = TOYOTA13.num_joints
# activity as the files name it -> the class name the LLM answers with
READABLE = {
    "Cook.Cleandishes": "cook: clean dishes", "Cook.Cleanup": "cook: clean up", "Cook.Cut": "cook: cut",
    "Cook.Stir": "cook: stir", "Cook.Usestove": "cook: use stove", "Cutbread": "cut bread",
    "Drink.Frombottle": "drink from bottle", "Drink.Fromcan": "drink from can", "Drink.Fromcup": "drink from cup",
    "Drink.Fromglass": "drink from glass", "Eat.Attable": "eat at table", "Eat.Snack": "eat a snack",
    "Enter": "enter", "Getup": "get up", "Laydown": "lay down", "Leave": "leave",
    "Makecoffee.Pourgrains": "make coffee: pour grains", "Makecoffee.Pourwater": "make coffee: pour water",
    "Maketea.Boilwater": "make tea: boil water", "Maketea.Insertteabag": "make tea: insert tea bag",
    "Pour.Frombottle": "pour from bottle", "Pour.Fromcan": "pour from can", "Pour.Fromkettle": "pour from kettle",
    "Readbook": "read book", "Sitdown": "sit down", "Takepills": "take pills", "Uselaptop": "use laptop",
    "Usetelephone": "use telephone", "Usetablet": "use tablet", "Walk": "walk", "WatchTV": "watch TV",
}  # fmt: skip
ACTIVITIES = tuple(READABLE)  # the ports' label order (cs)
CV_ACTIVITIES = (
    "Cutbread", "Drink.Frombottle", "Drink.Fromcan", "Drink.Fromcup", "Drink.Fromglass", "Eat.Attable",
    "Eat.Snack", "Enter", "Getup", "Leave", "Pour.Frombottle", "Pour.Fromcan", "Readbook", "Sitdown",
    "Takepills", "Uselaptop", "Usetablet", "Usetelephone", "Walk",
)  # fmt: skip
CS_TRAIN_SUBJECTS = (3, 4, 6, 7, 9, 12, 13, 15, 17, 19, 25)
CV_CAMERAS = {
    "cv1": {"train": (1,), "test": (2,), "val": (5,)},
    "cv2": {"train": (1, 3, 4, 6, 7), "test": (2,), "val": (5,)},
}
PROTOCOLS = ("cs", "cv1", "cv2")
NAME = re.compile(r"([A-Za-z.]+)_p(\d+)_r(\d+)_v(\d+)_c(\d+)")


def split_tag(activity: str, subject: int, camera: int, protocol: str) -> str | None:
    """'train', 'test', 'val', or None when the protocol does not use the video."""
    if protocol == "cs":
        return "train" if subject in CS_TRAIN_SUBJECTS else "test"
    if protocol not in CV_CAMERAS:
        raise ValueError(f"unknown Toyota Smarthome protocol {protocol!r}; choose from {PROTOCOLS}")
    if activity not in CV_ACTIVITIES:
        return None
    return next((tag for tag, cams in CV_CAMERAS[protocol].items() if camera in cams), None)


def read_video(path: Path, dims: int = 3) -> list[list[Person]]:
    """Per-frame detections of one video JSON, 2D (``pose2d``, pixels) or 3D (``pose3d``)."""
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    frames = json_frames(path, 'an LCR-Net++ object {"frames": [[detection, ...], ...]}', bare_list=False)
    return [_frame(frame, dims, f"{path}: frame {i}") for i, frame in enumerate(frames)]


def _frame(frame, dims: int, where: str) -> list[Person]:
    if not isinstance(frame, list):
        raise DataError(f"{where}: expected a list of detections ([] when nobody was found)")
    key = f"pose{dims}d"
    people = []
    for k, det in enumerate(frame):
        at = f"{where}: person {k}"
        if not isinstance(det, dict) or not isinstance(det.get(key), list):
            raise DataError(f"{at}: no {key} list")
        try:
            flat = np.asarray(det[key], dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise DataError(f"{at}: {key} is not a flat number list: {e}") from None
        if flat.ndim != 1 or flat.size != dims * NUM_JOINTS:
            raise DataError(
                f"{at}: {key} has {flat.size} values, expected {dims * NUM_JOINTS} ({NUM_JOINTS} LCR-Net++ "
                "joints, all x then all y" + (" then all z" if dims == 3 else "") + "; wrong joint count?)"
            )
        score = det.get("cumscore", 1.0)
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise DataError(f"{at}: cumscore {score!r} is not a number")
        people.append(make_person(flat.reshape(dims, NUM_JOINTS).T, np.full(NUM_JOINTS, score), None, at))
    return people


def load_toyota_smarthome(
    root: str | Path,
    protocol: str = "cs",
    dims: int = 3,
    min_confidence: float = 0.0,
    max_bodies: int = 1,
    max_frames: int | None = 300,
    min_frames: int = 1,
) -> SkeletonDataset:
    """Every ``<Activity>_pPP_rRR_vVV_cCC.json`` under ``root``, tagged train/test (and val) by ``protocol``."""
    root = Path(root)
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown Toyota Smarthome protocol {protocol!r}; choose from {PROTOCOLS}")
    activities = ACTIVITIES if protocol == "cs" else CV_ACTIVITIES
    samples, left_out = [], 0
    for f, m in named_files(root, "*.json", NAME, "Toyota Smarthome (<Activity>_pPP_rRR_vVV_cCC.json)"):
        activity, subject, camera = m.group(1), int(m.group(2)), int(m.group(5))
        if activity not in READABLE:
            raise DataError(f"{f}: unknown activity {activity!r} (Toyota Smarthome has {len(READABLE)})")
        tag = split_tag(activity, subject, camera, protocol)
        if tag is None:
            left_out += 1
            continue
        seq = cap_frames(to_bodies(read_video(f, dims), str(f), min_confidence, max_bodies), max_frames)
        if seq.shape[1] < min_frames:
            log.warning("%s: skipping, only %d frame(s) with a person", f, seq.shape[1])
            continue
        samples.append((f.stem, activities.index(activity), tag, seq))
    if left_out:
        log.info("%s: %d videos are outside protocol %s (activity or camera) and were not loaded", root, left_out,
                 protocol)  # fmt: skip
    if not samples:
        raise DataError(f"{root}: no Toyota Smarthome videos usable under protocol {protocol}")
    names, labels, tags, seqs = zip(*samples)
    classes = [READABLE[a] for a in activities]
    return SkeletonDataset.from_sequences(list(seqs), labels, classes, tags, TOYOTA13, names, str(root))


def read_toyota_sample(path: str | Path, dims: int = 3, max_bodies: int = 1) -> np.ndarray:
    """One video as float32 [M, T, 13, dims] (for ``llmar predict`` on a single file)."""
    return to_bodies(read_video(Path(path), dims), str(path), 0.0, max_bodies)


# -- the format entry ----------------------------------------------------------------------------------

_POSE_KEY = re.compile(r'"pose[23]d"\s*:')  # LCR-Net++'s detections, in no other format's JSON


def _is_video_json(path: Path) -> bool:
    return _POSE_KEY.search(read_head(path)) is not None


def _read_video_sample(path: Path) -> Sample:
    return path.stem, read_toyota_sample(path)


FORMAT = DataFormat(
    name="toyota_smarthome",
    title="a Toyota Smarthome video",
    load=load_toyota_smarthome,
    detect=lambda path: holds(path, "*_p[0-9][0-9]_r[0-9][0-9]_v[0-9][0-9]_c[0-9][0-9].json"),
    layouts=(TOYOTA13,),
    sample_suffixes=(".json",),
    is_sample=_is_video_json,
    read_sample=_read_video_sample,
)

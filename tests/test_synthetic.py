"""The built-in synthetic dataset: shape, determinism, split, body physics and class-specific motion."""

import re
import time

import numpy as np
import pytest

from llmar.data.layout import NTU25
from llmar.data.synthetic import CLASSES, make_synthetic_dataset

J = {name: i for i, name in enumerate(NTU25.joint_names)}
REQUIRED = ["wave", "clap", "punch", "kick", "jump", "squat", "bow", "walk", "sit down", "raise both arms",
            "stand up", "throw"]


@pytest.fixture(scope="module")
def ds():
    return make_synthetic_dataset()


@pytest.fixture(scope="module")
def clean():
    return make_synthetic_dataset(noise=0.0)


def of_class(ds, name: str) -> np.ndarray:
    return np.flatnonzero(ds.y == ds.classes.index(name))


def subject(name: str) -> str:
    return name.split("_")[0]


def test_deterministic_given_seed(ds):
    again = make_synthetic_dataset()
    assert again.x.tobytes() == ds.x.tobytes()
    assert np.array_equal(again.lengths, ds.lengths) and np.array_equal(again.names, ds.names)
    other = make_synthetic_dataset(seed=1)
    t = min(other.x.shape[2], ds.x.shape[2])
    assert not np.allclose(other.x[:, :, :t], ds.x[:, :, :t])


def test_shapes_dtype_lengths_and_padding(ds):
    n = 10 * len(CLASSES) * 4
    assert ds.x.shape == (n, 1, ds.lengths.max(), 25, 3) and ds.x.dtype == np.float32
    assert ds.layout == NTU25 and ds.lengths.min() >= 48 and ds.lengths.max() <= 96
    assert ds.lengths.std() > 5  # speeds vary
    assert np.isfinite(ds.x).all()
    for i in range(n):
        assert np.all(ds.x[i, :, ds.lengths[i]:] == 0), ds.names[i]
        assert np.all(np.abs(ds.x[i, 0, : ds.lengths[i]]).sum(-1) > 0), ds.names[i]


def test_classes_and_names(ds):
    assert set(REQUIRED) <= set(ds.classes) and ds.classes == list(CLASSES)
    assert len(set(ds.names)) == len(ds)
    for name, y in zip(ds.names, ds.y, strict=True):
        m = re.fullmatch(r"S(\d{3})_A(\d{2})_R(\d{2})", name)
        assert m, name
        assert int(m.group(2)) == y + 1
    assert set(ds.class_counts().values()) == {40}


def test_split_is_by_subject_and_has_every_class(ds):
    train, test = set(map(subject, ds.names[ds.indices("train")])), set(map(subject, ds.names[ds.indices("test")]))
    assert not train & test
    assert test == {"S008", "S009", "S010"} and len(train) == 7
    assert min(ds.class_counts("train").values()) == 7 * 4 and min(ds.class_counts("test").values()) == 3 * 4


def test_arguments():
    small = make_synthetic_dataset(num_subjects=4, repeats=2, num_frames=(30, 40), seed=3, test_subjects=1)
    assert len(small) == 4 * len(CLASSES) * 2 and small.x.shape[2] <= 40
    assert small.lengths.min() >= 30 and small.lengths.max() <= 40
    assert small.class_counts("test") == {c: 2 for c in CLASSES}
    assert set(make_synthetic_dataset(num_subjects=2, repeats=1, test_subjects=0).split) == {"train"}
    for bad in (dict(num_subjects=0), dict(repeats=0), dict(test_subjects=11), dict(test_subjects=-1),
                dict(num_frames=(50, 40)), dict(num_frames=(4, 8)), dict(noise=-0.1)):
        with pytest.raises(ValueError):
            make_synthetic_dataset(**bad)


def bone_lengths(x: np.ndarray) -> np.ndarray:
    """[T, V-1] length of each bone per frame."""
    return np.stack([np.linalg.norm(x[:, c] - x[:, p], axis=-1) for c, p in NTU25.bones], -1)


def test_bone_lengths_constant_in_time_but_differ_between_bodies(ds, clean):
    assert clean.x.tobytes() != ds.x.tobytes()
    thighs = []
    for i in range(len(ds)):
        exact = bone_lengths(clean.sample(i)[0].astype(np.float64))
        assert exact.std(0).max() < 1e-5, clean.names[i]  # float32 rounding only
        noisy = bone_lengths(ds.sample(i)[0].astype(np.float64))
        assert noisy.std(0).max() < 0.02, ds.names[i]  # ~1 cm joint noise
        thighs.append(exact[0, NTU25.bones.index((J["knee_left"], J["hip_left"]))])
    assert 0.3 < min(thighs) and max(thighs) < 0.56 and max(thighs) - min(thighs) > 0.06


def test_poses_look_human_and_in_metres(clean):
    first = clean.x[:, 0, 0]  # [N, V, 3] first frame
    y = first[..., 1]
    chain = ["head", "neck", "spine_shoulder", "spine_mid", "spine_base"]
    for upper, lower in zip(chain[:-1], chain[1:], strict=True):
        assert np.all(y[:, J[upper]] > y[:, J[lower]]), (upper, lower)
    for side in ("left", "right"):
        assert np.all(y[:, J[f"knee_{side}"]] > y[:, J[f"ankle_{side}"]])
        assert np.all(y[:, J["spine_base"]] > y[:, J[f"ankle_{side}"]])
    height = y[:, J["head"]] - np.minimum(y[:, J["foot_left"]], y[:, J["foot_right"]])
    standing = ~np.isin(np.arange(len(clean)), of_class(clean, "stand up"))
    assert 1.2 < height[standing].min() and height.max() < 2.0
    assert 2.0 < first[:, J["spine_base"], 2].min() and first[:, J["spine_base"], 2].max() < 4.5  # depth ~3 m
    # facing the camera, turned by up to 45 degrees: the right hip is at +x (as in NTU), the angle varies
    hips = first[:, J["hip_right"]] - first[:, J["hip_left"]]
    angle = np.degrees(np.arctan2(hips[:, 2], hips[:, 0]))
    assert np.all(np.abs(angle) < 60) and angle.max() - angle.min() > 60


def speed(ds, i: int, joints: list[str]) -> float:
    """Mean path length per frame of the given joints."""
    x = ds.sample(i)[0][:, [J[j] for j in joints]]
    return float(np.linalg.norm(np.diff(x, axis=0), axis=-1).mean())


def test_class_specific_motion(clean):
    hands, feet = ["wrist_left", "wrist_right"], ["ankle_left", "ankle_right"]
    for i in of_class(clean, "wave"):
        assert speed(clean, i, hands) > 3 * speed(clean, i, feet), clean.names[i]
    kick = np.array([speed(clean, i, feet) for i in of_class(clean, "kick")])
    clap = np.array([speed(clean, i, feet) for i in of_class(clean, "clap")])
    assert kick.min() > 2 * clap.max()
    pelvis = J["spine_base"]
    for name, lo, hi in (("jump", 0.06, 1.0), ("stand up", -1.0, 0.02)):
        for i in of_class(clean, name):
            y = clean.sample(i)[0][:, pelvis, 1]
            assert lo < y.max() - y[-1] < hi, clean.names[i]  # above the final standing height
    for i in of_class(clean, "stand up"):  # ... which stand-up reaches from far below
        y = clean.sample(i)[0][:, pelvis, 1]
        assert y[-1] - y[0] > 0.25, clean.names[i]


def test_active_side_varies(clean):
    """Waves come from either hand; kicks from either foot."""
    left = [speed(clean, i, ["wrist_left"]) > speed(clean, i, ["wrist_right"]) for i in of_class(clean, "wave")]
    assert 5 < sum(left) < len(left) - 5
    left = [speed(clean, i, ["ankle_left"]) > speed(clean, i, ["ankle_right"]) for i in of_class(clean, "kick")]
    assert 5 < sum(left) < len(left) - 5


def resampled(ds, idx: np.ndarray, frames: int = 32) -> np.ndarray:
    out = []
    for i in idx:
        x = ds.sample(i)[0].astype(np.float64)
        src = np.linspace(0, len(x) - 1, frames)
        lo = np.floor(src).astype(int)
        hi, w = np.minimum(lo + 1, len(x) - 1), (src - lo)[:, None, None]
        x = x[lo] * (1 - w) + x[hi] * w
        out.append((x - x[0, J["spine_mid"]]).ravel())
    return np.array(out)


def test_nearest_centroid_well_above_chance(ds):
    train, test = ds.indices("train"), ds.indices("test")
    feats = resampled(ds, train)
    centroids = np.stack([feats[ds.y[train] == k].mean(0) for k in range(len(ds.classes))])
    dist = ((resampled(ds, test)[:, None] - centroids[None]) ** 2).sum(-1)
    accuracy = (dist.argmin(1) == ds.y[test]).mean()
    assert accuracy > 0.6, accuracy  # chance is 1/12; measured about 0.89


def test_fast():
    start = time.perf_counter()
    make_synthetic_dataset()
    assert time.perf_counter() - start < 6.0  # about 0.7 s; generous for a shared machine

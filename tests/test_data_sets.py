"""NW-UCLA and Florence 3D on the real files, the registry, and describe()."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from llmar.data.dataset import DataError
from llmar.data.florence3d import folds, load_florence3d
from llmar.data.generic_npz import save_npz
from llmar.data.inspect import describe
from llmar.data.layout import FLORENCE15, KINECT20
from llmar.data.nw_ucla import load_nw_ucla
from llmar.data.registry import KINDS, detect_kind, load_dataset

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
UCLA, FLORENCE, NTU = DATA / "nw_ucla", DATA / "florence3d", DATA / "ntu_samples"
needs = {d: pytest.mark.skipif(not d.is_dir(), reason=f"{d} is absent") for d in (UCLA, FLORENCE, NTU)}


@pytest.fixture(scope="module")
def ucla():
    if not UCLA.is_dir():
        pytest.skip("NW-UCLA data absent")
    return load_nw_ucla(UCLA)


@pytest.fixture(scope="module")
def florence():
    if not FLORENCE.is_dir():
        pytest.skip("Florence 3D data absent")
    return load_florence3d(FLORENCE)


# -- NW-UCLA ------------------------------------------------------------------------------------------


def test_ucla_protocol(ucla):
    assert len(ucla) == 1484 and ucla.layout is KINECT20 and ucla.x.shape[1:] == (1, 201, 20, 3)
    assert (ucla.split == "train").sum() == 1020 and (ucla.split == "test").sum() == 464
    views = np.array([n[-3:] for n in ucla.names])
    assert {v: int((views == v).sum()) for v in ("v01", "v02", "v03")} == {"v01": 516, "v02": 504, "v03": 464}
    assert set(ucla.split[views == "v03"]) == {"test"}
    assert len(ucla.classes) == 10 and ucla.classes[0] == "pick up with one hand" and ucla.classes[9] == "carry"
    # label i <- action ids 1..6, 8, 9, 11, 12 (7 and 10 are not in the set)
    actions = np.array([int(n[1:3]) for n in ucla.names])
    np.testing.assert_array_equal(np.array([1, 2, 3, 4, 5, 6, 8, 9, 11, 12])[ucla.y], actions)
    assert ucla.lengths.min() == 1 and ucla.lengths.max() == 201
    assert 38 < ucla.lengths.mean() < 40  # the README's mean of 39
    i = list(ucla.names).index("a01_s01_e00_v01")
    np.testing.assert_allclose(ucla.x[i, 0, 0, 0], [-0.619699, 0.328046, 3.18186], rtol=1e-6)
    assert not ucla.x[i, 0, ucla.lengths[i] :].any()


def test_ucla_one_frame_samples_can_be_skipped(caplog):
    if not UCLA.is_dir():
        pytest.skip("NW-UCLA data absent")
    with caplog.at_level(logging.WARNING):
        ds = load_nw_ucla(UCLA / "all_sqe", min_frames=2)
    assert len(ds) == 1482 and "a02_s09_e04_v02" in caplog.text and "a02_s09_e04_v03" in caplog.text


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"file_name": "a01_s01_e00_v01", "label": 2, "skeletons": [[[0, 0, 0]] * 20]}, "unknown label"),
        ({"file_name": "a07_s01_e00_v01", "label": 7, "skeletons": [[[0, 0, 0]] * 20]}, "unknown label"),
        ({"file_name": "a01_s01_e00_v01", "label": 1, "skeletons": [[[0, 0, 0]] * 19]}, "wrong joint count"),
        ({"file_name": "a01_s01_e00_v01", "label": 1, "skeletons": []}, "empty"),
        ({"file_name": "a01_s01_e00_v01", "label": 1, "skeletons": [[[float("nan"), 0, 0]] * 20]}, "NaN"),
        ({"file_name": "clip", "label": 1, "skeletons": [[[0, 0, 0]] * 20]}, "aAA_sSS"),
        ({"label": 1, "skeletons": []}, "expected an object"),
    ],
)
def test_ucla_bad_files(tmp_path, doc, message):
    (tmp_path / "a01_s01_e00_v01.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match=f"a01_s01_e00_v01.json: .*{message}"):
        load_nw_ucla(tmp_path)


# -- Florence 3D --------------------------------------------------------------------------------------


def test_florence_protocol(florence):
    assert len(florence) == 215 and florence.layout is FLORENCE15 and florence.x.shape[1:] == (1, 34, 15, 3)
    assert len(florence.classes) == 9 and florence.classes[0] == "wave" and florence.classes[-1] == "bow"
    assert sorted(set(florence.split)) == [f"actor{i:02d}" for i in range(1, 11)]
    assert florence.lengths.min() == 7 and florence.lengths.max() == 34 and round(florence.lengths.mean()) == 18
    i = list(florence.names).index("a01_s1_id1")
    assert florence.split[i] == "actor01" and florence.y[i] == 0 and florence.lengths[i] == 27
    np.testing.assert_allclose(florence.x[i, 0, 0, 0], [-0.22273712, 0.54099542, 2.83240991], rtol=1e-6)  # mm -> m
    for n, y, s in zip(florence.names, florence.y, florence.split, strict=True):  # labels/actors from file names
        assert n.startswith(f"a{y + 1:02d}_s{int(s[5:])}_")


def test_florence_leave_one_actor_out(florence):
    seen = []
    for train, test, actor in folds(florence):
        assert set(florence.split[test]) == {actor} and actor not in set(florence.split[train])
        assert len(train) + len(test) == 215
        seen += list(test)
    assert sorted(seen) == list(range(215))


@pytest.mark.parametrize(
    "text, message",
    [
        ("1 2 3\n" * 14, "14 rows is not a whole number of 15"),
        ("1 2 3\n" * 14 + "1 2\n", "row 15 has 2"),
        ("1 2 3\n" * 14 + "1 nan 3\n", "row 15 has NaN"),
        ("1 2 3\n" * 14 + "1 x 3\n", "non-numeric"),
        ("", "empty"),
    ],
)
def test_florence_bad_files(tmp_path, text, message):
    (tmp_path / "a01_s1_id1.txt").write_text(text)
    with pytest.raises(DataError, match=f"a01_s1_id1.txt: {message}"):
        load_florence3d(tmp_path)


def test_florence_unknown_label(tmp_path):
    (tmp_path / "a10_s1_id1.txt").write_text("1 2 3\n" * 30)
    with pytest.raises(DataError, match="unknown label 10"):
        load_florence3d(tmp_path)


# -- registry and describe ------------------------------------------------------------------------------


@needs[UCLA]
@needs[FLORENCE]
@needs[NTU]
def test_auto_detects_every_kind(tmp_path, florence):
    assert detect_kind(UCLA) == "nw_ucla" and detect_kind(UCLA / "all_sqe") == "nw_ucla"
    assert detect_kind(FLORENCE) == "florence3d" and detect_kind(NTU) == "ntu_raw"
    save_npz(florence, tmp_path / "f.npz")
    np.savez(tmp_path / "NTU60_CS.npz", x_train=np.ones((2, 3, 150)), y_train=np.eye(60)[:2])
    (tmp_path / "a.pkl").write_bytes(b"")
    assert [detect_kind(tmp_path / f) for f in ("f.npz", "NTU60_CS.npz", "a.pkl")] == ["npz", "ctrgcn_npz", "pyskl"]
    back = load_dataset("auto", tmp_path / "f.npz")
    assert isinstance(back.x, np.memmap) and list(back.names) == list(florence.names)
    assert len(load_dataset("auto", NTU, benchmark="xview")) == 10
    assert len(load_dataset("florence3d", FLORENCE)) == 215


def test_registry_errors(tmp_path):
    assert set(KINDS) == {"npz", "ctrgcn_npz", "pyskl", "ntu_raw", "nw_ucla", "florence3d", "coco_json", "openpose",
                          "mediapipe", "toyota_smarthome", "uav_human", "synthetic", "auto"}
    with pytest.raises(ValueError, match="unknown dataset kind"):
        load_dataset("kinetics", tmp_path)
    with pytest.raises(DataError, match="needs a path"):
        load_dataset("nw_ucla")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match="cannot tell"):
        detect_kind(tmp_path)
    with pytest.raises(DataError, match="unknown file type"):
        detect_kind(tmp_path / "notes.txt")


def test_registry_synthetic():
    ds = load_dataset("synthetic", num_subjects=4, repeats=1, test_subjects=1)
    assert len(ds) > 0 and {"train", "test"} == set(ds.split)


def test_describe(ucla):
    text = describe(ucla)
    assert "1484 samples" in text and "kinect20" in text
    assert "pick up with one hand" in text and "1020" in text and "464" in text
    assert f"1 / {np.median(ucla.lengths):g} / 201" in text  # min / median / max frames
    assert "hip_center" in text and "└── " in text and "3D" in text
    assert "1: 1484" in text  # one body everywhere

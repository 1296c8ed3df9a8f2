"""The format registry: one entry a format, one order they are tried in, one guess of a layout by joint count."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llmar.data import registry
from llmar.data.dataset import DataError
from llmar.data.files import read_samples
from llmar.data.layout import COCO17, KINECT20, NTU25, OPENPOSE_BODY25, TOYOTA13, layout_by_joint_count


def test_every_format_is_registered_once_with_what_it_needs():
    names = [fmt.name for fmt in registry.FORMATS]
    assert len(names) == len(set(names))
    assert set(registry.KINDS) == {*registry.BY_KIND, "auto"} and "npy" not in registry.KINDS
    for fmt in registry.FORMATS:
        assert fmt.title and (fmt.load is not None or fmt.read_sample is not None), fmt.name
        assert all(s == s.lower() and s.startswith(".") for s in fmt.sample_suffixes), fmt.name
        # a format that reads one sample says which files those are
        assert fmt.read_sample is None or fmt.sample_suffixes, fmt.name


def test_layout_by_joint_count():
    assert layout_by_joint_count(25) is NTU25  # a bare 25 is NTU, not OpenPose BODY_25
    assert layout_by_joint_count(13) is TOYOTA13 and layout_by_joint_count(20) is KINECT20
    assert layout_by_joint_count(25, (OPENPOSE_BODY25,)) is OPENPOSE_BODY25
    # Kinect skeletons are 3D: 2D points with their joint count get a chain, other layouts do not care
    assert layout_by_joint_count(25, (NTU25, COCO17), coords=3) is NTU25
    assert layout_by_joint_count(25, (NTU25, COCO17), coords=2).name == "generic25"
    assert layout_by_joint_count(17, (NTU25, COCO17), coords=2) is COCO17
    assert layout_by_joint_count(9).name == "generic9" and layout_by_joint_count(9).parents[0] == -1


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def test_one_sample_files_go_to_the_format_that_claims_them_then_to_the_leftover_taker(tmp_path):
    toyota = _write(tmp_path / "t.json", {"frames": [[]], "pose3d": []})
    assert registry.sample_format(toyota) == (registry.BY_KIND["toyota_smarthome"], ())
    openpose = _write(tmp_path / "o.json", {"people": [{"pose_keypoints_2d": []}]})
    assert registry.sample_format(openpose)[0].name == "openpose"
    fmt, passed = registry.sample_format(_write(tmp_path / "u.json", {"file_name": "a01_s01_e01_v01"}))
    assert fmt.name == "nw_ucla" and [p.name for p in passed] == ["toyota_smarthome", "openpose", "mediapipe",
                                                                   "coco_json"]  # fmt: skip
    uav = tmp_path / "P000S00G10B10H10UC022000LC021000A000R0_08241716.txt"
    uav.write_text("")
    assert registry.sample_format(uav)[0].name == "uav_human"
    (tmp_path / "clip.txt").write_text("")
    assert registry.sample_format(tmp_path / "clip.txt")[0].name == "florence3d"
    np.save(tmp_path / "a.npy", np.zeros((2, 3, 3)))
    assert registry.sample_format(tmp_path / "a.npy")[0].name == "npy"
    (tmp_path / "d.PKL").write_bytes(b"")
    assert registry.sample_format(tmp_path / "d.PKL")[0].read_sample is None  # a whole dataset
    (tmp_path / "v.mp4").write_bytes(b"")
    with pytest.raises(DataError, match=r"v.mp4: unsupported file type '.mp4' \(.skeleton, .json, .txt,"):
        registry.sample_format(tmp_path / "v.mp4")


def test_a_txt_that_no_format_reads_says_what_it_was_tried_as(tmp_path):
    (tmp_path / "notes.txt").write_text("hello world\n")
    with pytest.raises(DataError, match="notes.txt: not a UAV-Human video or a Florence 3D video; as a Florence 3D"):
        read_samples(tmp_path / "notes.txt")


FLORENCE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "florence3d"


def test_a_loaded_dataset_is_laid_out_as_its_entry_says():
    ds = registry.load_dataset("synthetic", num_subjects=2, repeats=1, test_subjects=1)
    assert ds.layout in registry.BY_KIND["synthetic"].layouts
    if FLORENCE.is_dir():
        assert registry.load_dataset("auto", FLORENCE).layout in registry.BY_KIND["florence3d"].layouts

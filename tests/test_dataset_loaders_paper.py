"""Toyota Smarthome and UAV-Human loaders (fixtures in each dataset's published format), their configs,
and single-file reading of pose JSON for `llmar predict`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llmar.config import Config
from llmar.data.dataset import DataError
from llmar.data.files import read_samples
from llmar.data.layout import COCO17, TOYOTA13, infer_landmarks
from llmar.data.registry import detect_kind, load_dataset
from llmar.data.toyota_smarthome import CV_ACTIVITIES, READABLE, load_toyota_smarthome
from llmar.data.uav_human import CSV1_TRAIN, CSV2_TRAIN, load_uav_human
from llmar.evaluation.viz import layout_for

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def joints(v: int, t: int, dims: int, shift: float = 0.0, speed: float = 1.0) -> np.ndarray:
    """[V, dims] joints at frame t: a fixed shape (no joint at the origin) moved by ``speed`` per frame."""
    base = np.stack([np.arange(v) * 3.0 + 1.0, np.arange(v) * 2.0 + 5.0, np.arange(v) * 0.5 + 2.0], axis=1)
    return base[:, :dims] + shift + speed * t


# -- layouts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [TOYOTA13, COCO17])
def test_layouts_give_five_parts_and_landmarks(layout):
    parts = layout.body_parts()
    assert len(parts) == 5 and sorted(j for p in parts for j in p) == list(range(layout.num_joints))
    marks = infer_landmarks(list(layout.joint_names))
    assert marks["hips"] == layout.hips and marks["shoulders"] == layout.shoulders
    names = [layout.joint_names[j] for j in layout.hips + layout.shoulders]
    assert names == ["left_hip", "right_hip", "left_shoulder", "right_shoulder"]


def test_layout_for_knows_the_pose_layouts():
    assert layout_for(13) is TOYOTA13 and layout_for(17) is COCO17
    assert layout_for(18).name == "openpose18" and layout_for(33).name == "mediapipe33"
    assert layout_for(25).name == "ntu25" and layout_for(20).name == "kinect20" and layout_for(15).name == "florence15"


# -- Toyota Smarthome -------------------------------------------------------------------------------------


def lcr_detection(t: int, score: float = 5.0, shift: float = 0.0, speed: float = 1.0) -> dict:
    """One LCR-Net++ detection: pose2d / pose3d flat, all x then all y (then all z)."""
    return {
        "pose2d": joints(13, t, 2, shift, speed).T.ravel().tolist(),
        "pose3d": joints(13, t, 3, shift, speed).T.ravel().tolist(),
        "cumscore": score,
    }


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def toyota_root(tmp_path):
    root = tmp_path / "smarthome"
    for name in ("Walk_p03_r00_v01_c01", "Walk_p08_r00_v02_c02", "Walk_p25_r01_v03_c05", "Walk_p10_r00_v04_c03",
                 "Cook.Cut_p04_r00_v01_c01", "Cook.Cut_p11_r00_v02_c02"):  # fmt: skip
        write_json(root / f"{name}.json", {"frames": [[lcr_detection(t)] for t in range(4)]})
    # subject 3 camera 1: frame 1 has nobody (dropped); two people, the second moves (kept first)
    frames = [[lcr_detection(t, shift=50.0, speed=0.0), lcr_detection(t, speed=3.0)] for t in range(5)]
    frames[1] = []
    write_json(root / "Walk_p03_r00_v01_c01.json", {"frames": frames})
    (root / "readme.json").write_text("{}")  # not a video: skipped with a warning
    return root


def test_toyota_cross_subject(toyota_root, caplog):
    ds = load_toyota_smarthome(toyota_root)
    assert ds.layout is TOYOTA13 and len(ds.classes) == 31 and ds.num_coords == 3 and ds.num_bodies == 1
    assert ds.classes[:3] == ["cook: clean dishes", "cook: clean up", "cook: cut"] and ds.classes[-1] == "watch TV"
    assert list(ds.names) == ["Cook.Cut_p04_r00_v01_c01", "Cook.Cut_p11_r00_v02_c02", "Walk_p03_r00_v01_c01",
                              "Walk_p08_r00_v02_c02", "Walk_p10_r00_v04_c03", "Walk_p25_r01_v03_c05"]  # fmt: skip
    assert list(ds.split) == ["train", "test", "train", "test", "test", "train"]
    assert [ds.classes[y] for y in ds.y] == ["cook: cut"] * 2 + ["walk"] * 4
    assert list(ds.lengths) == [4, 4, 4, 4, 4, 4] and "readme.json" in caplog.text
    moving = ds.sample(2)[0]  # frame 1 dropped; the moving person is kept, coordinate-major decoded
    np.testing.assert_allclose(moving, [joints(13, t, 3, speed=3.0) for t in (0, 2, 3, 4)])


@pytest.mark.parametrize(
    "protocol, names, tags",
    [
        ("cv1", ["Walk_p03_r00_v01_c01", "Walk_p08_r00_v02_c02", "Walk_p25_r01_v03_c05"], ["train", "test", "val"]),
        ("cv2", ["Walk_p03_r00_v01_c01", "Walk_p08_r00_v02_c02", "Walk_p10_r00_v04_c03", "Walk_p25_r01_v03_c05"],
         ["train", "test", "train", "val"]),
    ],
)  # fmt: skip
def test_toyota_cross_view(toyota_root, protocol, names, tags):
    ds = load_dataset("toyota_smarthome", toyota_root, protocol=protocol, dims=2, max_bodies=2)
    assert list(ds.names) == names and list(ds.split) == tags  # Cook.Cut is not a cross-view activity
    assert ds.classes == [READABLE[a] for a in CV_ACTIVITIES] and len(ds.classes) == 19
    assert set(ds.y) == {CV_ACTIVITIES.index("Walk")} and ds.num_coords == 2 and ds.num_bodies == 2
    np.testing.assert_allclose(ds.sample(0)[1], [joints(13, 0, 2, shift=50.0)] * 4)  # the still person


def test_toyota_detection_score_and_auto(toyota_root):
    write_json(toyota_root / "Walk_p03_r00_v01_c01.json",
               {"frames": [[lcr_detection(t, score=0.5), lcr_detection(t, 2.0, 9.0)] for t in range(3)]})  # fmt: skip
    ds = load_toyota_smarthome(toyota_root, min_confidence=1.0, max_bodies=2)
    assert ds.num_bodies == 1  # the low-score person is left out
    np.testing.assert_allclose(ds.sample(2)[0], [joints(13, t, 3, 9.0) for t in range(3)])
    assert detect_kind(toyota_root) == "toyota_smarthome"
    assert len(load_dataset("auto", toyota_root, max_frames=2)) == 6
    assert load_dataset("auto", toyota_root, max_frames=2).x.shape[2] == 2  # long clips keep 2 frames
    with pytest.raises(ValueError, match="protocol 'cv3'"):
        load_toyota_smarthome(toyota_root, protocol="cv3")


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"frames": [[{"pose3d": [1, 2', "not readable JSON"),
        ({"frames": []}, "empty video"),
        ({"frames": [[], []]}, "no person detected"),
        ([1, 2], "expected an LCR-Net"),
        ({"frames": [[{"pose3d": [1.0] * 36}]]}, "frame 0: person 0: pose3d has 36 values, expected 39"),
        ({"frames": [[{"pose3d": [float("nan")] * 39}]]}, "NaN"),
        ({"frames": [[{"pose2d": [1.0] * 26}]]}, "no pose3d"),
        ({"frames": [[{"pose3d": [1.0] * 39, "cumscore": "high"}]]}, "cumscore 'high'"),
    ],
)
def test_toyota_bad_input_names_the_file(tmp_path, content, message):
    path = tmp_path / "Walk_p03_r00_v01_c01.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(DataError, match=f"Walk_p03_r00_v01_c01.json: .*{message}"):
        load_toyota_smarthome(tmp_path)


def test_toyota_unknown_activity_and_empty_folder(tmp_path):
    with pytest.raises(DataError, match="no Toyota Smarthome"):
        load_toyota_smarthome(tmp_path)
    write_json(tmp_path / "Fly_p03_r00_v01_c01.json", {"frames": [[lcr_detection(0)]]})
    with pytest.raises(DataError, match="Fly_p03_r00_v01_c01.json: unknown activity 'Fly'"):
        load_toyota_smarthome(tmp_path)


# -- UAV-Human --------------------------------------------------------------------------------------------


def uav_name(subject: int, action: int) -> str:
    return f"P{subject:03d}S00G10B10H10UC022000LC021000A{action:03d}R0_08241716"


def uav_text(frames, fields: int = 12) -> str:
    """The NTU-style text: frame count; per frame body count; per body info line, 17, 17 joint lines."""
    lines = [str(len(frames))]
    for people in frames:
        lines.append(str(len(people)))
        for xyz in people:
            lines += ["0 0 0 0 0 0 0 0 0 0", "17"]
            lines += [" ".join(f"{v:.3f}" for v in (*row, *[0.0] * (fields - 3))) for row in xyz]
    return "\n".join(lines) + "\n"


@pytest.fixture
def uav_root(tmp_path):
    root = tmp_path / "uav"
    root.mkdir()
    for subject, action in ((0, 0), (1, 0), (2, 1), (3, 1)):
        (root / f"{uav_name(subject, action)}.txt").write_text(uav_text([[joints(17, t, 3)] for t in range(4)]))
    # subject 2: two people, the second moves; the first has its left wrist (9) unfound (0 0 0) in frame 1
    frames = [[joints(17, t, 3, 40.0, 0.5), joints(17, t, 3, speed=4.0)] for t in range(4)]
    frames[1][0][9] = 0.0
    (root / f"{uav_name(2, 1)}.txt").write_text(uav_text(frames, fields=3))
    return root


@pytest.mark.parametrize("protocol, train", [("csv1", CSV1_TRAIN), ("csv2", CSV2_TRAIN)])
def test_uav_cross_subject(uav_root, protocol, train):
    ds = load_uav_human(uav_root, protocol=protocol)
    assert ds.layout is COCO17 and len(ds.classes) == 155 and ds.classes[:2] == ["action_000", "action_001"]
    assert list(ds.names) == [uav_name(s, a) for s, a in ((0, 0), (1, 0), (2, 1), (3, 1))]
    assert list(ds.y) == [0, 0, 1, 1] and ds.x.shape == (4, 2, 4, 17, 3)
    assert list(ds.split) == ["train" if s in train else "test" for s in range(4)]
    assert list(ds.split) == (["train", "test", "train", "test"] if protocol == "csv1" else
                              ["train", "test", "test", "train"])  # fmt: skip
    moving, still = ds.sample(2)
    np.testing.assert_allclose(moving, [joints(17, t, 3, speed=4.0) for t in range(4)], atol=1e-3)
    np.testing.assert_allclose(still[:, 9], [joints(17, t, 3, 40.0, 0.5)[9] for t in range(4)], atol=1e-3)
    assert not ds.x[0, 1].any()  # one person: the second body stays empty


def test_uav_options_and_auto(uav_root):
    ds = load_dataset("auto", uav_root, train_subjects=[1, 3], class_names=[f"c{i}" for i in range(155)], dims=2)
    assert list(ds.split) == ["test", "train", "test", "train"] and ds.classes[1] == "c1" and ds.num_coords == 2
    assert detect_kind(uav_root) == "uav_human" and load_uav_human(uav_root, max_bodies=1).num_bodies == 1
    with pytest.raises(ValueError, match="155 actions"):
        load_uav_human(uav_root, class_names=["a", "b"])
    with pytest.raises(ValueError, match="protocol 'x'"):
        load_uav_human(uav_root, protocol="x")


@pytest.mark.parametrize(
    "text, message",
    [
        (uav_text([[joints(17, 0, 3)]] * 3)[:-200], "file ends early \\(truncated\\?\\)"),
        (uav_text([[joints(17, 0, 3)]] * 2).replace("5.000", "nan", 1), "line 5: not finite numbers"),
        (uav_text([[joints(17, 0, 3)]]).replace("\n17\n", "\n25\n"), "joint count \\(wrong joint count\\?\\) is 25"),
        (uav_text([[joints(17, 0, 3)]]).replace("3.000", "x", 1), "not finite numbers"),
        (uav_text([[joints(17, 0, 3)]], fields=3).replace(" 5.000", "", 1), "line 5: joint line has 2 fields"),
        ("", "empty file"),
        ("0\n", "empty video"),
        ("2\n0\n0\n", "no person detected"),
    ],
)
def test_uav_bad_input_names_the_file(tmp_path, text, message):
    (tmp_path / f"{uav_name(0, 0)}.txt").write_text(text)
    with pytest.raises(DataError, match=f"{uav_name(0, 0)}.txt: .*{message}"):
        load_uav_human(tmp_path)


def test_uav_unknown_label(tmp_path):
    (tmp_path / f"{uav_name(0, 155)}.txt").write_text(uav_text([[joints(17, 0, 3)]]))
    with pytest.raises(DataError, match="unknown label A155"):
        load_uav_human(tmp_path)


# -- single files for `llmar predict` ----------------------------------------------------------------------


def test_read_samples_pose_json(tmp_path):
    mmpose = {"meta_info": {}, "instance_info": [
        {"frame_id": t, "instances": [{"keypoints": joints(17, t, 2).tolist(), "keypoint_scores": [0.9] * 17}]}
        for t in range(3)]}  # fmt: skip
    write_json(tmp_path / "clip.json", mmpose)
    [(name, arr)] = read_samples(tmp_path / "clip.json")
    assert name == "clip" and arr.shape == (1, 3, 17, 2)
    np.testing.assert_allclose(arr[0], [joints(17, t, 2) for t in range(3)])
    write_json(tmp_path / "frame.json", {"instances": [{"keypoints": joints(17, 0, 2).tolist()}]})  # one frame
    assert read_samples(tmp_path / "frame.json")[0][1].shape == (1, 1, 17, 2)
    people = [{"pose_keypoints_2d": np.concatenate([joints(18, 0, 2), np.ones((18, 1))], 1).ravel().tolist()}]
    write_json(tmp_path / "v_000000000000_keypoints.json", {"version": 1.3, "people": people})
    assert read_samples(tmp_path / "v_000000000000_keypoints.json")[0][1].shape == (1, 1, 18, 2)
    landmarks = [{"x": x, "y": y, "z": 0.0, "visibility": 0.9} for x, y in joints(33, 0, 2)]
    write_json(tmp_path / "mp.json", [landmarks, landmarks])
    assert read_samples(tmp_path / "mp.json")[0][1].shape == (1, 2, 33, 2)


def test_read_samples_dataset_files_and_errors(tmp_path, toyota_root, uav_root):
    [(name, arr)] = read_samples(toyota_root / "Walk_p08_r00_v02_c02.json")
    assert name == "Walk_p08_r00_v02_c02" and arr.shape == (1, 4, 13, 3)
    [(name, arr)] = read_samples(uav_root / f"{uav_name(2, 1)}.txt")
    assert name == uav_name(2, 1) and arr.shape == (2, 4, 17, 3)
    write_json(tmp_path / "a01_s01_e01_v01.json",
               {"file_name": "a01_s01_e01_v01", "label": 1, "skeletons": [joints(20, 0, 3).tolist()] * 2})  # fmt: skip
    assert read_samples(tmp_path / "a01_s01_e01_v01.json")[0][1].shape == (1, 2, 20, 3)
    write_json(tmp_path / "other.json", {"hello": [1, 2]})
    with pytest.raises(DataError, match="other.json: not a Toyota Smarthome video, pose-estimator output"):
        read_samples(tmp_path / "other.json")
    (tmp_path / "cut.json").write_text('{"instance_info": [{"instances": [{"keypoints": [[1, 2]')
    with pytest.raises(DataError, match="cut.json: not readable JSON"):
        read_samples(tmp_path / "cut.json")


# -- configs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, kind", [("toyota_smarthome_cs.yaml", "toyota_smarthome"),
                                        ("uav_human_csv1.yaml", "uav_human")])  # fmt: skip
def test_configs_load_with_the_recipe(name, kind):
    cfg = Config.load(CONFIGS / name, ["data.options.protocol=cv2"] if kind == "toyota_smarthome" else None)
    assert cfg.data.kind == kind and cfg.data.num_frames == 64 and cfg.projection.temporal_downsample == 8
    recommended = Config()  # never run: the files hold their data and take the recommended recipe whole
    for section in ("projection", "llm"):
        assert getattr(cfg, section) == getattr(recommended, section), section
    assert cfg.data.max_bodies == (1 if kind == "toyota_smarthome" else 2)
    assert "mean_class_accuracy" in (CONFIGS / name).read_text() or kind == "uav_human"
    if kind == "toyota_smarthome":
        assert cfg.data.options["protocol"] == "cv2"

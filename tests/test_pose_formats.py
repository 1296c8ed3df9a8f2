"""2D pose-estimator loaders (COCO-17 JSON, OpenPose, MediaPipe): fixtures in each tool's own format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llmar.data.dataset import DataError
from llmar.data.layout import COCO17, MEDIAPIPE33, OPENPOSE_BODY25, OPENPOSE_COCO18, infer_landmarks
from llmar.data.pose_common import fill_missing
from llmar.data.pose_json import load_coco_json, load_mediapipe, load_openpose
from llmar.data.registry import detect_kind, load_dataset


def body(v: int, t: int, shift: float = 0.0, speed: float = 1.0) -> np.ndarray:
    """[V, 2] joints of a body at frame t: a fixed shape moved by ``speed`` per frame."""
    return np.stack([np.arange(v) * 3.0 + shift + speed * t, np.arange(v) * 2.0 + 100.0], axis=1)


def write(path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


# -- layouts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [COCO17, OPENPOSE_BODY25, OPENPOSE_COCO18, MEDIAPIPE33])
def test_layout_has_trunk_two_arms_two_legs(layout):
    parts = layout.body_parts()
    assert len(parts) == 5 and sorted(j for p in parts for j in p) == list(range(layout.num_joints))
    assert not {*layout.hips, *layout.shoulders} & set(parts[0])  # the trunk comes first
    limbs = [{layout.joint_names[j].lower() for j in p} for p in parts[1:]]
    for side in ("l", "r"):
        arm = [p for p in limbs if any(n.startswith(side) and "wrist" in n for n in p)]
        leg = [p for p in limbs if any(n.startswith(side) and "ankle" in n for n in p)]
        assert len(arm) == 1 and len(leg) == 1 and any("shoulder" in n for n in arm[0])
        assert any("hip" in n for n in leg[0]) and any("knee" in n for n in leg[0])
    marks = infer_landmarks(list(layout.joint_names))
    assert marks["hips"] == layout.hips and marks["shoulders"] == layout.shoulders
    assert marks.get("spine") == layout.spine


# -- COCO-17 (MMPose / RTMPose / Ultralytics) ---------------------------------------------------------


def mmpose_frames(people_per_frame) -> dict:
    """MMPose --save-predictions: {"meta_info", "instance_info": [{"frame_id", "instances"}]}."""
    frames = [
        {"frame_id": i + 1, "instances": [{"keypoints": xy.tolist(), "keypoint_scores": s.tolist(), **extra}
                                          for xy, s, extra in people]}
        for i, people in enumerate(people_per_frame)
    ]  # fmt: skip
    return {"meta_info": {"dataset_name": "coco"}, "instance_info": frames}


@pytest.fixture
def coco_root(tmp_path):
    root, ones = tmp_path / "coco", np.ones(17)
    # wave/a.json: MMPose, one person, 4 frames; frame 2 has nobody (dropped)
    frames = [[(body(17, t), ones, {})] for t in range(4)]
    frames[2] = []
    write(root / "wave" / "a.json", mmpose_frames(frames))
    # wave/b/: Ultralytics per-frame files (frame_10 after frame_2), keypoints {"x", "y", "visible"}
    for t in (1, 2, 10):
        xy = body(17, t)
        write(root / "wave" / "b" / f"frame_{t}.json",
              [{"name": "person", "class": 0, "confidence": 0.9,
                "keypoints": {"x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(), "visible": [0.8] * 17}}])  # fmt: skip
    # clap/c.json: two tracked people; track 7 (listed second) moves, track 3 stands still
    write(root / "clap" / "c.json", mmpose_frames(
        [[(body(17, 0, 500.0, 0.0), ones, {"track_id": 3}), (body(17, t, speed=5.0), ones, {"track_id": 7})]
         for t in range(5)]))  # fmt: skip
    # clap/d.json: a bare list of frames, flat [x, y, score, ...]; left wrist (9) unsure in frames 1-2,
    # right wrist (10) unsure in frame 0, left ear (3) never sure
    frames = []
    for t in range(5):
        xyv = np.concatenate([body(17, t), np.full((17, 1), 0.9)], axis=1)
        xyv[3] = (0.0, 0.0, 0.1)
        if t in (1, 2):
            xyv[9] = (0.0, 0.0, 0.2)
        if t == 0:
            xyv[10] = (-50.0, -50.0, 0.05)
        frames.append([{"keypoints": xyv.ravel().tolist()}])
    write(root / "clap" / "d.json", frames)
    (root / "clap" / "notes.txt").write_text("not a video")
    return root


def test_coco_json_loads_every_format(coco_root, caplog):
    ds = load_coco_json(coco_root)
    assert ds.layout is COCO17 and ds.classes == ["clap", "wave"] and ds.num_coords == 2
    assert list(ds.names) == ["clap/c", "clap/d", "wave/a", "wave/b"]
    assert list(ds.y) == [0, 0, 1, 1] and set(ds.split) == {"train"}
    assert list(ds.lengths) == [5, 5, 3, 3] and ds.num_bodies == 2
    np.testing.assert_allclose(ds.x[2, 0, :3, 0], [body(17, t)[0] for t in (0, 1, 3)])  # frame 2 dropped
    np.testing.assert_allclose(ds.x[3, 0, :3, 5, 0], [body(17, t)[5, 0] for t in (1, 2, 10)])  # natural order
    assert not ds.x[2, 1].any() and not ds.x[3, 1].any()  # one person: second body stays empty
    assert "notes.txt" in caplog.text


def test_coco_two_people_moving_one_first(coco_root):
    ds = load_coco_json(coco_root)
    moving, still = ds.sample(0)
    np.testing.assert_allclose(moving[:, 0], [body(17, t, speed=5.0)[0] for t in range(5)])
    np.testing.assert_allclose(still[:, 0], [body(17, 0, 500.0, 0.0)[0]] * 5)
    one = load_coco_json(coco_root, max_bodies=1)
    assert one.num_bodies == 1
    np.testing.assert_allclose(one.sample(0)[0], moving)


def test_low_confidence_joints_are_interpolated(coco_root):
    seq = load_coco_json(coco_root).sample(1)[0]  # clap/d
    truth = np.stack([body(17, t) for t in range(5)])
    np.testing.assert_allclose(seq[:, 9], truth[:, 9], atol=1e-5)  # linear motion: interpolation is exact
    np.testing.assert_allclose(seq[:, 10], [truth[1, 10]] + list(truth[1:, 10]))  # held at the start
    ok = np.ones((5, 17), bool)
    ok[:, 3], ok[1:3, 9], ok[0, 10] = False, False, False
    np.testing.assert_allclose(seq[:, 3], [truth[t, ok[t]].mean(0) for t in range(5)], atol=1e-4)  # never sure
    np.testing.assert_allclose(seq[ok], truth[ok])  # confident joints stay as they are


def test_fill_missing_values():
    pos = np.array([[[0.0, 0], [9, 9]], [[5, 5], [9, 9]], [[4, 8], [9, 9]], [[1, 2], [3, 4]]])
    ok = np.array([[True, False], [False, False], [True, False], [False, True]])
    out = fill_missing(pos, ok)
    np.testing.assert_allclose(out[:, 0], [[0, 0], [2, 4], [4, 8], [4, 8]])  # interpolated, then held
    np.testing.assert_allclose(out[:, 1], [[3, 4]] * 4)  # held before its only good frame
    ok[3, 1] = False  # joint 1 never good: the frame's good joints' mean, the filled joints' where none
    np.testing.assert_allclose(fill_missing(pos, ok)[:, 1], [[0, 0], [2, 4], [4, 8], [4, 8]])


def test_train_test_folders(tmp_path):
    for tag, cls, t in (("train", "sit", 3), ("train", "run", 2), ("test", "sit", 4)):
        write(tmp_path / tag / cls / "v.json", [[{"keypoints": body(17, i).tolist()}] for i in range(t)])
    ds = load_dataset("coco_json", tmp_path)
    assert list(ds.names) == ["train/run/v", "train/sit/v", "test/sit/v"]
    assert list(ds.split) == ["train", "train", "test"] and ds.classes == ["run", "sit"] and list(ds.y) == [0, 1, 1]
    (tmp_path / "val").mkdir()
    with pytest.raises(DataError, match="also \\['val'\\]"):
        load_coco_json(tmp_path)


# -- OpenPose -----------------------------------------------------------------------------------------


def openpose_frame(path, people) -> None:
    """``people``: list of ([V, 2] xy, [V] confidence, person id)."""
    write(path, {"version": 1.3, "people": [
        {"person_id": [pid], "pose_keypoints_2d": np.concatenate([xy, c[:, None]], 1).ravel().tolist(),
         "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": []}
        for xy, c, pid in people]})  # fmt: skip


@pytest.fixture
def openpose_root(tmp_path):
    root, ones = tmp_path / "op", np.ones(25)
    for tag, cls, vid, t in (("train", "walk", "w1", 4), ("train", "sit", "s1", 3), ("test", "walk", "w2", 3)):
        for i in range(t):
            openpose_frame(root / tag / cls / vid / f"{vid}_{i:012d}_keypoints.json", [(body(25, i), ones, -1)])
    for i in range(3):  # loose frame files in the class folder; two people; person 2 moves
        openpose_frame(root / "test" / "sit" / f"duo_{i:012d}_keypoints.json",
                       [(body(25, 0, 300.0, 0.0), ones, 1), (body(25, i, speed=4.0), ones, 2)])  # fmt: skip
    return root


def test_openpose_body25(openpose_root):
    ds = load_openpose(openpose_root)
    assert ds.layout is OPENPOSE_BODY25 and ds.num_coords == 2 and ds.classes == ["sit", "walk"]
    assert list(ds.names) == ["train/sit/s1", "train/walk/w1", "test/sit/duo", "test/walk/w2"]
    assert list(ds.split) == ["train", "train", "test", "test"] and list(ds.lengths) == [3, 4, 3, 3]
    assert list(ds.y) == [0, 1, 0, 1] and ds.num_bodies == 2
    np.testing.assert_allclose(ds.sample(2)[0, :, 8], [body(25, i, speed=4.0)[8] for i in range(3)])
    np.testing.assert_allclose(ds.sample(2)[1, :, 8], [body(25, 0, 300.0, 0.0)[8]] * 3)
    assert detect_kind(openpose_root) == "openpose" and len(load_dataset("auto", openpose_root)) == 4


def test_openpose_coco18_and_low_confidence(tmp_path):
    conf = np.ones(18)
    for i in range(3):
        c = conf.copy()
        c[4] = 0.0 if i == 1 else 0.7  # RWrist lost in frame 1: OpenPose writes 0, 0, 0
        xy = body(18, i)
        xy[4] *= c[4] > 0
        openpose_frame(tmp_path / "kick" / "k" / f"{i}_keypoints.json", [(xy, c, -1)])
        openpose_frame(tmp_path / "punch" / "p" / f"{i}_keypoints.json", [(body(18, i), conf, -1)])
    ds = load_openpose(tmp_path)
    assert ds.layout is OPENPOSE_COCO18 and list(ds.y) == [0, 1]
    np.testing.assert_allclose(ds.sample(0)[0, :, 4], [body(18, i)[4] for i in range(3)])


# -- MediaPipe ----------------------------------------------------------------------------------------


def landmarks(t: int, shift: float = 0.0, vis: float = 0.99) -> list[dict]:
    xy = body(33, t, shift) / 1000.0
    return [{"x": x, "y": y, "z": -0.1, "visibility": vis} for x, y in xy]


def mediapipe_csv(path, t: int, named: bool = False, skip_frame: int | None = None) -> None:
    names = MEDIAPIPE33.joint_names
    cols = [f"{n}_{a}" if named else f"{a}{i}" for i, n in enumerate(names) for a in ("x", "y", "z", "visibility" if named else "v")]
    rows = ["frame," + ",".join(cols)]
    for i in range(t):
        cells = [f"{lm[a]}" for lm in landmarks(i) for a in ("x", "y", "z", "visibility")]
        rows.append(f"{i}," + ("," * (len(cells) - 1) if i == skip_frame else ",".join(cells)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")


@pytest.fixture
def mediapipe_root(tmp_path):
    root = tmp_path / "mp"
    frames = [landmarks(t) for t in range(4)]
    frames[1] = [dict(lm) for lm in frames[1]]
    frames[1][15]["visibility"] = 0.1  # left wrist unsure in frame 1
    write(root / "jump" / "j1.json", frames)
    write(root / "jump" / "j2.json", {"frames": [
        {"pose_landmarks": [landmarks(t), landmarks(0, 400.0)],
         "pose_world_landmarks": [landmarks(t), landmarks(0, 400.0)]} for t in range(3)] + [None]})  # fmt: skip
    mediapipe_csv(root / "squat" / "s1.csv", 3)
    mediapipe_csv(root / "squat" / "s2.csv", 4, named=True, skip_frame=2)
    return root


def test_mediapipe_json_and_csv(mediapipe_root):
    ds = load_mediapipe(mediapipe_root)
    assert ds.layout is MEDIAPIPE33 and ds.num_coords == 2 and ds.classes == ["jump", "squat"]
    assert list(ds.names) == ["jump/j1", "jump/j2", "squat/s1", "squat/s2"] and list(ds.lengths) == [4, 3, 3, 3]
    truth = np.stack([body(33, t) / 1000.0 for t in range(4)])
    np.testing.assert_allclose(ds.sample(0)[0], truth, atol=1e-6)  # the unsure wrist is interpolated
    np.testing.assert_allclose(ds.sample(2)[0], truth[:3], atol=1e-6)
    np.testing.assert_allclose(ds.sample(3)[0], truth[[0, 1, 3]], atol=1e-6)  # empty row dropped
    assert ds.sample(1).shape[0] == 2
    assert detect_kind(mediapipe_root) == "mediapipe"


def test_mediapipe_world_landmarks(mediapipe_root, tmp_path):
    write(tmp_path / "w" / "jump" / "j2.json", json.loads((mediapipe_root / "jump" / "j2.json").read_text()))
    ds = load_mediapipe(tmp_path / "w", world=True)
    assert ds.num_coords == 3 and np.allclose(ds.sample(0)[0, :, :, 2], -0.1)
    with pytest.raises(DataError, match="j1.json: frame 0: no world landmarks"):
        load_mediapipe(mediapipe_root, world=True)


# -- detection and bad input --------------------------------------------------------------------------


def test_detects_coco_json(coco_root):
    assert detect_kind(coco_root) == "coco_json" and len(load_dataset("auto", coco_root)) == 4


BAD = [  # (loader, file written in a class folder, content, message)
    (load_coco_json, "v.json", '[[{"keypoints": [[1, 2], [3', "v.json: not readable JSON"),
    (load_coco_json, "v.json", json.dumps([[{"keypoints": [[1, 2]] * 16}]]), "v.json: frame 0: person 0: .*wrong joint count"),
    (load_coco_json, "v.json", "[[{\"keypoints\": " + json.dumps([[1, 2]] * 16 + [["NaN", 2]]).replace('"NaN"', "NaN") + "}]]",
     "v.json: frame 0: person 0: keypoints contain NaN"),
    (load_coco_json, "v.json", "[]", "v.json: empty video"),
    (load_coco_json, "v.json", "[[], []]", "v.json: no person detected"),
    (load_coco_json, "v.json", json.dumps([[{"keypoints": [[1, 2]] * 17, "keypoint_scores": [0.1] * 17}]]),
     "v.json: no person has a joint with confidence >= 0.3"),
    (load_openpose, "v/0_keypoints.json", '{"people": [{"pose_keypoints_2d": [1, 2', "0_keypoints.json: not readable JSON"),
    (load_openpose, "v/0_keypoints.json", json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 60}]}),
     "0_keypoints.json: person 0: pose_keypoints_2d has 60 values"),
    (load_openpose, "v/0_keypoints.json", '{"people": [{"pose_keypoints_2d": [NaN' + ", 1" * 74 + "]}]}",
     "0_keypoints.json: person 0: keypoints contain NaN"),
    (load_openpose, "v/notes.txt", "", "v: no \\*_keypoints.json frame files \\(empty video\\)"),
    (load_mediapipe, "v.json", '[[{"x": 0.1, "y": 0.2', "v.json: not readable JSON"),
    (load_mediapipe, "v.json", json.dumps([[{"x": 0, "y": 0}] * 32]), "v.json: frame 0: person 0: 32 landmarks"),
    (load_mediapipe, "v.json", "[[" + ", ".join(['{"x": NaN, "y": 0}'] * 33) + "]]", "v.json: frame 0: person 0: keypoints contain NaN"),
    (load_mediapipe, "v.json", "[null, []]", "v.json: no person detected"),
    (load_mediapipe, "v.csv", "frame," + ",".join(f"x{i},y{i}" for i in range(32)) + "\n0" + ",1" * 64 + "\n",
     "v.csv: no column for landmark 32 \\(right_foot_index\\)"),
    (load_mediapipe, "v.csv", "frame," + ",".join(f"x{i},y{i}" for i in range(33)) + "\n0" + ",1" * 40 + "\n",
     "v.csv: row 2: 41 cells but the header has 67 \\(truncated\\?\\)"),
    (load_mediapipe, "v.csv", "frame," + ",".join(f"x{i},y{i}" for i in range(33)) + "\n0,nan" + ",1" * 65 + "\n",
     "v.csv: row 2: keypoints contain NaN"),
    (load_mediapipe, "v.csv", "frame," + ",".join(f"x{i},y{i}" for i in range(33)) + "\n", "v.csv: empty video"),
]  # fmt: skip


@pytest.mark.parametrize("loader, name, content, message", BAD, ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_names_the_file(tmp_path, loader, name, content, message):
    path = tmp_path / "wave" / name
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        loader(tmp_path)


def test_layout_errors(tmp_path):
    with pytest.raises(DataError, match="no class folders"):
        load_coco_json(tmp_path)
    write(tmp_path / "a" / "v.json", [[{"keypoints": body(17, 0).tolist()}]])
    with pytest.raises(DataError, match="not a folder"):
        load_coco_json(tmp_path / "a" / "v.json")
    for i, v in enumerate((25, 18)):  # one model per dataset
        openpose_frame(tmp_path / "op" / f"c{i}" / "v" / "0_keypoints.json", [(body(v, 0), np.ones(v), -1)])
    with pytest.raises(DataError, match="18 joints .* but .* has 25"):
        load_openpose(tmp_path / "op")
    two = [[{"keypoints": body(17, 0).tolist(), "track_id": 1}] * 2]
    write(tmp_path / "dup" / "a" / "v.json", two)
    with pytest.raises(DataError, match="v.json: frame 0 has two people with track id 1"):
        load_coco_json(tmp_path / "dup")

"""NTU raw parsing, denoising, published lists and splits, prepare_ntu (on the 10 real files)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from llmar.data.dataset import DataError
from llmar.data.generic_npz import load_npz
from llmar.data.layout import NTU25
from llmar.data.ntu import load_ntu_raw, prepare_ntu
from llmar.data.ntu_classes import ntu_class_names
from llmar.data.ntu_protocols import (
    NTU60_XSUB_TRAIN,
    NTU120_XSUB_TRAIN,
    NtuName,
    missing_skeletons,
    parse_ntu_name,
    split_tag,
)
from llmar.data.ntu_skeleton import MissingSkeleton, denoise, read_skeleton

RAW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ntu_samples" / "raw_skeletons"
needs_raw = pytest.mark.skipif(not RAW.is_dir(), reason="../shared/data/ntu_samples is absent")

NAMES = [
    "S001C001P003R002A005", "S001C001P004R001A017", "S001C002P003R002A013", "S002C002P009R001A056",
    "S005C003P017R001A040", "S007C003P017R001A030", "S010C003P007R002A021", "S010C003P025R002A032",
    "S013C001P007R001A031", "S015C003P007R001A023",
]  # fmt: skip
# By the published lists: performers 4, 9, 17, 25 train under X-Sub (3 and 7 test); camera 1 tests
# under X-View; even setups train under X-Set.
XSUB_TRAIN = {"S001C001P004R001A017", "S002C002P009R001A056", "S005C003P017R001A040", "S007C003P017R001A030",
              "S010C003P025R002A032"}  # fmt: skip
XVIEW_TEST = {"S001C001P003R002A005", "S001C001P004R001A017", "S013C001P007R001A031"}
XSET_TRAIN = {"S002C002P009R001A056", "S010C003P007R002A021", "S010C003P025R002A032"}


def write_skeleton(path: Path, frames: list[list[tuple[str, np.ndarray]]]) -> Path:
    """A raw NTU file: per frame a list of (body id, xyz [25, 3])."""
    out = [str(len(frames))]
    for bodies in frames:
        out.append(str(len(bodies)))
        for body_id, xyz in bodies:
            out += [f"{body_id} 0 1 1 1 1 0 0.0 0.0 2", "25"]
            out += [f"{x:.6f} {y:.6f} {z:.6f} 250 180 1000 500 0.1 0.2 0.3 0.4 2" for x, y, z in xyz]
    path.write_text("\n".join(out) + "\n")
    return path


def person(t: int, amplitude: float, x0: float = 0.0, seed: int = 0) -> np.ndarray:
    """[t, 25, 3] an upright body (tall in y, narrow in x) swaying by ``amplitude``."""
    rng = np.random.default_rng(seed)
    base = np.stack([rng.uniform(-0.2, 0.2, 25) + x0, np.linspace(-0.9, 0.8, 25), np.full(25, 3.0)], axis=1)
    sway = amplitude * np.sin(np.linspace(0, 6, t))[:, None, None] * np.array([1.0, 0.2, 0.5])
    return (base + sway).astype(np.float32)


def table(t: int) -> np.ndarray:
    """[t, 25, 3] a wide flat object: x spread far above y spread in every frame."""
    base = np.stack([np.linspace(-1, 1, 25), np.linspace(0, 0.1, 25), np.full(25, 3.5)], axis=1)
    return np.repeat(base[None], t, axis=0).astype(np.float32) + np.linspace(0, 0.5, t)[:, None, None]


# -- names and lists ------------------------------------------------------------------------------------


def test_parse_name_fields():
    assert parse_ntu_name("S001C002P003R002A013.skeleton") == NtuName(1, 2, 3, 2, 13)
    assert parse_ntu_name(Path("/x/S018C001P042R001A120.skeleton")).name == "S018C001P042R001A120"
    for bad in ("S001C002P003R002.skeleton", "clip_001", "S001C002P003R002A000", "S001C002P003R002A121"):
        with pytest.raises(DataError):
            parse_ntu_name(bad)


def test_published_lists():
    assert len(NTU60_XSUB_TRAIN) == 20 and len(set(NTU120_XSUB_TRAIN)) == 53
    assert 38 in NTU60_XSUB_TRAIN and 3 not in NTU60_XSUB_TRAIN and 103 in NTU120_XSUB_TRAIN
    assert len(missing_skeletons(60)) == 302 and len(missing_skeletons(120)) == 535
    assert {"S001C002P005R002A008", "S017C003P020R001A059"} <= missing_skeletons(60)
    assert "S032C003P067R002A077" in missing_skeletons(120) - missing_skeletons(60)
    names = ntu_class_names(120)
    assert len(names) == 120 and len(set(names)) == 120
    assert names[0] == "drink water" and names[59] == "walking apart from each other"
    assert names[60] == "put on headphone" and names[119].startswith("finger-guessing game")
    assert ntu_class_names(60) == names[:60]


def test_split_rules():
    info = parse_ntu_name("S002C001P045R001A001")
    assert split_tag(info, "xsub", 60) == "test"  # 45 is a training subject only in NTU120
    assert split_tag(info, "xsub", 120) == "train"
    assert split_tag(info, "xview") == "test" and split_tag(parse_ntu_name("S002C003P045R001A001"), "xview") == "train"
    assert split_tag(info, "xset") == "train" and split_tag(parse_ntu_name("S003C001P001R001A001"), "xset") == "test"
    with pytest.raises(ValueError):
        split_tag(info, "xcam")


def test_missing_file_from_user(tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("These are broken:\n\nS099C001P001R001A001\nS098C002P002R002A002  \n")
    names = missing_skeletons(60, f)
    assert {"S099C001P001R001A001", "S098C002P002R002A002"} <= names and len(names) == 304


# -- real files --------------------------------------------------------------------------------------


@needs_raw
def test_read_real_file_fields():
    s = read_skeleton(RAW / "S001C001P003R002A005.skeleton")
    assert s.num_frames == 68 and [b.body_id for b in s.bodies] == ["72057594037937513", "72057594037937524"]
    b = s.bodies[0]
    assert b.joints.shape == (68, 25, 12) and b.info.shape == (68, 9)
    np.testing.assert_allclose(b.xyz[0, 0], [0.2177176, 0.2382496, 3.789388], rtol=1e-6)
    np.testing.assert_allclose(b.info[0], [0, 1, 1, 1, 1, 0, 0.06527223, -0.2464331, 2], rtol=1e-6)
    assert b.tracking[0, 7] == 1 and b.tracking[0, 0] == 2  # hand_left inferred in the first frame
    np.testing.assert_array_equal(b.frames, np.arange(68))


@needs_raw
def test_denoise_real_files():
    # a one-person action with a second "body" that is wide, not upright, in every frame: dropped,
    # although it moves more than the actor
    s = read_skeleton(RAW / "S001C001P003R002A005.skeleton")
    out = denoise(s)
    assert out.shape == (2, 68, 25, 3) and not out[1].any()
    np.testing.assert_array_equal(out[0], s.bodies[0].xyz)
    # a two-person action keeps both, the more active one first
    s = read_skeleton(RAW / "S002C002P009R001A056.skeleton")
    out = denoise(s)
    motion = [np.var(b.xyz, axis=0).sum() for b in s.bodies]
    np.testing.assert_array_equal(out[0], s.bodies[int(np.argmax(motion))].xyz)
    np.testing.assert_array_equal(out[1], s.bodies[int(np.argmin(motion))].xyz)


@needs_raw
@pytest.mark.parametrize("benchmark", ["xsub", "xview", "xset"])
def test_load_real_folder_splits(benchmark):
    ds = load_ntu_raw(RAW, benchmark=benchmark)
    assert list(ds.names) == NAMES and ds.layout == NTU25 and len(ds.classes) == 60
    assert ds.x.shape == (10, 2, 300, 25, 3) and ds.x.dtype == np.float32
    np.testing.assert_array_equal(ds.y, [int(n[-3:]) - 1 for n in NAMES])
    assert ds.classes[ds.y[0]] == "drop" and ds.classes[ds.y[3]] == "giving something to other person"
    np.testing.assert_array_equal(ds.lengths, [68, 97, 147, 72, 51, 110, 87, 72, 53, 69])
    expected = {
        "xsub": {n: "train" if n in XSUB_TRAIN else "test" for n in NAMES},
        "xview": {n: "test" if n in XVIEW_TEST else "train" for n in NAMES},
        "xset": {n: "train" if n in XSET_TRAIN else "test" for n in NAMES},
    }[benchmark]
    assert dict(zip(ds.names, ds.split, strict=True)) == expected
    for i in range(len(ds)):  # at most two bodies, zero past the length
        assert not ds.x[i, :, ds.lengths[i] :].any() and ds.x[i, 0, : ds.lengths[i]].any()
    assert ds.x[3, 1].any() and not ds.x[0, 1].any()


@needs_raw
def test_prepare_writes_mappable_npz_equal_to_direct_parse(tmp_path):
    out = prepare_ntu(RAW, tmp_path / "ntu.npz", benchmark="xview", workers=2, progress=False)
    ds = load_npz(out)
    direct = load_ntu_raw(RAW, benchmark="xview")
    assert isinstance(ds.x, np.memmap)
    np.testing.assert_array_equal(ds.x, direct.x)
    for key in ("lengths", "y", "split", "names"):
        np.testing.assert_array_equal(getattr(ds, key), getattr(direct, key))
    assert ds.classes == direct.classes and ds.layout == NTU25
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ntu.npz"]  # no temp files left


# -- denoising rules on constructed files ----------------------------------------------------------------


def test_denoise_drops_short_and_flat_bodies_and_orders_by_motion(tmp_path):
    t = 40
    calm, busy, flat, blip = person(t, 0.05, 0.0, 1), person(t, 0.3, 1.0, 2), table(t), person(5, 0.5, -1.0, 3)
    frames = [[("1", calm[k]), ("2", busy[k]), ("3", flat[k])] + ([("4", blip[k])] if k < 5 else []) for k in range(t)]
    out = denoise(read_skeleton(write_skeleton(tmp_path / "S001C001P001R001A050.skeleton", frames)))
    assert out.shape == (2, t, 25, 3)
    np.testing.assert_allclose(out[0], busy, atol=1e-6)  # most motion first
    np.testing.assert_allclose(out[1], calm, atol=1e-6)  # the table and the 5-frame body are gone


def test_denoise_joins_bodies_that_do_not_overlap_in_time(tmp_path):
    a, b = person(20, 0.3, seed=1), person(20, 0.1, seed=2)
    frames = [[("1", a[k])] for k in range(20)] + [[]] * 3 + [[("2", b[k])] for k in range(20)]
    skel = read_skeleton(write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", frames))
    assert [len(x.frames) for x in skel.bodies] == [20, 20] and skel.num_frames == 43
    out = denoise(skel)  # one actor re-detected under a new id: one slot, empty frames removed
    assert out.shape == (2, 40, 25, 3) and not out[1].any()
    np.testing.assert_allclose(out[0], np.concatenate([a, b]), atol=1e-6)


def test_skips_missing_and_short_samples_with_warnings(tmp_path, caplog):
    p = person(30, 0.2)
    write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", [[("1", p[k])] for k in range(30)])
    write_skeleton(tmp_path / "S001C001P002R001A002.skeleton", [[] for _ in range(30)])  # no body at all
    write_skeleton(tmp_path / "S001C001P004R001A003.skeleton", [[("1", p[0])]])  # one frame
    write_skeleton(tmp_path / "S001C002P005R002A008.skeleton", [[("1", p[k])] for k in range(30)])  # listed
    with caplog.at_level(logging.WARNING, logger="llmar.data.ntu"):
        ds = load_ntu_raw(tmp_path)
    assert list(ds.names) == ["S001C001P001R001A001"]
    text = caplog.text
    assert "missing skeleton" in text and "S001C001P002R001A002" in text
    assert "S001C001P004R001A003" in text and "1 frame" in text
    assert "listed as missing skeletons" in text and "S001C002P005R002A008" in text
    with pytest.raises(MissingSkeleton):
        denoise(read_skeleton(tmp_path / "S001C001P002R001A002.skeleton"))


def test_bad_file_raises_naming_it_or_is_skipped(tmp_path, caplog):
    p = person(30, 0.2)
    write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", [[("1", p[k])] for k in range(30)])
    bad = write_skeleton(tmp_path / "S001C001P001R001A002.skeleton", [[("1", p[k])] for k in range(30)])
    lines = bad.read_text().splitlines()
    lines[10] = lines[10].replace("250", "nan", 1).replace(lines[10].split()[0], "nan", 1)
    bad.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"S001C001P001R001A002\.skeleton: line 11"):
        load_ntu_raw(tmp_path)
    with caplog.at_level(logging.WARNING, logger="llmar.data.ntu"):
        ds = load_ntu_raw(tmp_path, on_error="skip")
    assert list(ds.names) == ["S001C001P001R001A001"] and "S001C001P001R001A002" in caplog.text


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda ls: ls[:40], "ends early"),
        (lambda ls: ls[:3] + ["24"] + ls[4:], "joint count"),
        (lambda ls: ls[:5] + [ls[5] + " 7"] + ls[6:], "12"),
        (lambda ls: ls[:5] + ["0.1 abc 3 250 180 1000 500 0.1 0.2 0.3 0.4 2"] + ls[6:], "line 6"),
        (lambda ls: ["x"] + ls[1:], "frame count"),
        (lambda ls: ls + ["1"], "after the"),
        (lambda ls: ls[:1] + ["9"] + ls[2:], "body count"),
    ],
)
def test_malformed_files(tmp_path, edit, message):
    p = person(3, 0.2)
    f = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", [[("1", p[k])] for k in range(3)])
    f.write_text("\n".join(edit(f.read_text().splitlines())) + "\n")
    with pytest.raises(DataError, match=message):
        read_skeleton(f)


def test_class_count_inferred_and_ntu60_leaves_out_ntu120(tmp_path):
    p = person(20, 0.2)
    for name in ("S001C001P001R001A001", "S018C001P001R001A061"):
        write_skeleton(tmp_path / f"{name}.skeleton", [[("1", p[k])] for k in range(20)])
    ds = load_ntu_raw(tmp_path)
    assert len(ds.classes) == 120 and list(ds.y) == [0, 60]
    ds60 = load_ntu_raw(tmp_path, num_classes=60)
    assert len(ds60.classes) == 60 and list(ds60.names) == ["S001C001P001R001A001"]


@needs_raw
def test_long_sequences_are_cut_to_max_frames(caplog):
    with caplog.at_level(logging.WARNING, logger="llmar.data.ntu"):
        ds = load_ntu_raw(RAW, max_frames=60)
    assert ds.x.shape[2] == 60
    np.testing.assert_array_equal(ds.lengths, np.minimum([68, 97, 147, 72, 51, 110, 87, 72, 53, 69], 60))
    assert "S001C002P003R002A013" in caplog.text and "keeping the first 60" in caplog.text
    full = load_ntu_raw(RAW)
    np.testing.assert_array_equal(ds.x, full.x[:, :, :60])

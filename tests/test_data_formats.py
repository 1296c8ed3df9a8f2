"""The generic .npz (memory-mapped round trips), CTR-GCN .npz and PYSKL .pkl readers."""

from __future__ import annotations

import logging
import pickle
import zipfile

import numpy as np
import pytest

from llmar.data.ctrgcn_npz import load_ctrgcn_npz
from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.generic_npz import load_npz, save_npz
from llmar.data.layout import NTU25, JointLayout, generic_layout
from llmar.data.npz_io import ChunkedArray, valid_lengths, write_npz
from llmar.data.ntu_classes import ntu_class_names
from llmar.data.pyskl import load_pyskl


def make_dataset(n=12, m=2, t=20, v=25, c=3, layout=NTU25, seed=0) -> SkeletonDataset:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, t + 1, size=n)
    x = rng.standard_normal((n, m, t, v, c)).astype(np.float32)
    x *= (np.arange(t)[None, :] < lengths[:, None])[:, None, :, None, None]
    return SkeletonDataset(
        x=x, lengths=lengths, y=rng.integers(0, 4, size=n), classes=["wave", "clap", "bow", "sit down"],
        split=np.where(np.arange(n) % 3 == 0, "test", "train"), layout=layout,
        names=np.array([f"clip{i}" for i in range(n)]),
    )  # fmt: skip


def assert_same(a: SkeletonDataset, b: SkeletonDataset) -> None:
    np.testing.assert_array_equal(np.asarray(a.x), np.asarray(b.x))
    for key in ("lengths", "y", "split", "names"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert a.classes == b.classes and a.layout == b.layout


# -- generic format ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, layout",
    [
        ((12, 2, 20, 25, 3), NTU25),
        ((5, 3, 9, 7, 2), JointLayout("hand7", tuple("abcdefg"), (-1, 0, 1, 1, 3, 0, 5), center=1)),
        ((4, 1, 2, 1, 3), generic_layout(1)),
    ],
)
def test_round_trip_memory_maps_x(tmp_path, shape, layout):
    n, m, t, v, c = shape
    ds = make_dataset(n, m, t, v, c, layout)
    path = save_npz(ds, tmp_path / "d.npz")
    back = load_npz(path)
    assert isinstance(back.x, np.memmap) and not back.x.flags.writeable
    assert back.x.dtype == np.float32 and back.source == str(path)
    assert_same(ds, back)
    assert back.layout.center == layout.center and back.layout.name == layout.name
    with zipfile.ZipFile(path) as zf:  # uncompressed, with the documented members
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        assert {"x.npy", "lengths.npy", "y.npy", "classes.npy", "split.npy", "joint_names.npy",
                "parents.npy", "layout.npy"} <= set(zf.namelist())  # fmt: skip
    assert_same(ds, load_npz(path, mmap=False))


def test_samples_of_a_memmap_are_writable_copies(tmp_path):
    ds = make_dataset()
    back = load_npz(save_npz(ds, tmp_path / "d.npz"))
    seq = back.sample(2)
    assert seq.flags.writeable and not np.shares_memory(seq, back.x)
    seq[:] = 0  # must not touch the file
    np.testing.assert_array_equal(back.sample(2), ds.x[2, :, : ds.lengths[2]])


def test_ntu_layout_comes_back_as_the_registered_one(tmp_path):
    back = load_npz(save_npz(make_dataset(), tmp_path / "d.npz"))
    assert back.layout is NTU25


def test_save_is_atomic(tmp_path):
    path = tmp_path / "d.npz"
    ds = make_dataset()
    save_npz(ds, path)
    bad = ChunkedArray((10, 1, 2, 3, 3), np.float32, iter([np.zeros((4, 1, 2, 3, 3))]))  # 4 rows, not 10
    with pytest.raises(ValueError, match="4 rows"):
        write_npz(path, {"x": bad})
    assert_same(ds, load_npz(path))  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]


def test_chunked_writer_streams_x(tmp_path):
    ds = make_dataset(n=10)
    chunks = (ds.x[i : i + 3] for i in range(0, 10, 3))
    write_npz(tmp_path / "c.npz", {"x": ChunkedArray(ds.x.shape, np.float32, chunks), "y": ds.y,
                                   "classes": np.array(ds.classes)})  # fmt: skip
    back = load_npz(tmp_path / "c.npz")
    np.testing.assert_array_equal(back.x, ds.x)
    np.testing.assert_array_equal(back.lengths, ds.lengths)  # inferred from the zero tail
    assert set(back.split) == {"train"}


def test_memmap_pickles_as_a_reference(tmp_path):
    ds = make_dataset(n=200, t=50)
    back = load_npz(save_npz(ds, tmp_path / "d.npz"))
    blob = pickle.dumps(back.x)
    assert len(blob) < 2000 < back.x.nbytes
    again = pickle.loads(blob)
    assert isinstance(again, np.memmap)
    np.testing.assert_array_equal(again, ds.x)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(back.x[3:5])), ds.x[3:5])  # slices: plain copies


def test_compressed_files_are_read_into_memory(tmp_path, caplog):
    ds = make_dataset()
    np.savez_compressed(tmp_path / "z.npz", x=ds.x, lengths=ds.lengths, y=ds.y, classes=np.array(ds.classes),
                        split=ds.split, names=ds.names)  # fmt: skip
    with caplog.at_level(logging.WARNING):
        back = load_npz(tmp_path / "z.npz")
    assert not isinstance(back.x, np.memmap) and "compressed" in caplog.text
    np.testing.assert_array_equal(back.x, ds.x)
    assert back.layout.num_joints == 25


def test_valid_lengths():
    x = np.zeros((3, 2, 6, 2, 3), dtype=np.float32)
    x[0, 1, 4, 1, 2] = 1.0  # second body's last frame counts
    x[1, 0, :2] = 5.0
    np.testing.assert_array_equal(valid_lengths(x, chunk=2), [5, 2, 0])


def test_nan_is_reported_with_the_sample(tmp_path):
    ds = make_dataset()
    x = ds.x.copy()
    x[7, 0, 0, 3, 1] = np.nan
    ds.x = x
    path = save_npz(ds, tmp_path / "nan.npz")
    with pytest.raises(DataError, match="clip7.*NaN"):
        load_npz(path)
    lazy = load_npz(path, check=False)  # big files are checked as samples are read
    lazy.sample(6)
    with pytest.raises(DataError, match="clip7"):
        lazy.sample(7)


@pytest.mark.parametrize(
    "members, message",
    [
        ({"y": np.zeros(3, int), "classes": np.array(["a"])}, "missing"),
        ({"x": np.zeros((3, 1, 4, 2, 3), np.float32), "y": np.zeros(2, int), "classes": np.array(["a"])}, "y has 2"),
        ({"x": np.zeros((3, 4, 2, 3), np.float32), "y": np.zeros(3, int), "classes": np.array(["a"])}, "N, M, T"),
        ({"x": np.ones((2, 1, 4, 2, 3), np.float32), "y": np.array([0, 5]), "classes": np.array(["a"])}, "label 5"),
        ({"x": np.ones((2, 1, 4, 2, 3), np.float32), "y": np.zeros(2, int), "classes": np.array(["a"]),
          "lengths": np.array([4, 9])}, "9 valid frames"),  # fmt: skip
        ({"x": np.ones((2, 1, 4, 2, 3), np.float32), "y": np.zeros(2, int), "classes": np.array(["a"]),
          "parents": np.array([0, 1])}, "layout"),  # fmt: skip
        ({"x": np.ones((2, 1, 4, 2, 5), np.float32), "y": np.zeros(2, int), "classes": np.array(["a"])}, "coordinates"),
    ],
)
def test_bad_generic_files(tmp_path, members, message):
    write_npz(tmp_path / "bad.npz", members)
    with pytest.raises(DataError, match=message):
        load_npz(tmp_path / "bad.npz")


def test_not_a_zip_and_truncated(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"hello")
    with pytest.raises(DataError, match="junk.npz: not a valid"):
        load_npz(tmp_path / "junk.npz")
    data = save_npz(make_dataset(), tmp_path / "d.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cut.npz"):
        load_npz(tmp_path / "cut.npz")
    with pytest.raises(DataError, match="no such file"):
        load_npz(tmp_path / "absent.npz")


# -- CTR-GCN ----------------------------------------------------------------------------------------


def ctrgcn_arrays(ds: SkeletonDataset) -> tuple[np.ndarray, np.ndarray]:
    """[N, T, M*V*C] and one-hot [N, K] the way CTR-GCN's seq_transformation writes them."""
    n, m, t, v, c = ds.x.shape
    flat = ds.x.transpose(0, 2, 1, 3, 4).reshape(n, t, m * v * c)
    onehot = np.zeros((n, 60), dtype=np.float32)
    onehot[np.arange(n), ds.y] = 1
    return flat, onehot


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_ctrgcn_npz(tmp_path, save, caplog):
    ds = make_dataset(n=10, t=30)
    x = ds.x.copy()
    x[4] = 0  # a sample with no skeleton
    x[6, :, 1:] = 0  # a one-frame sample
    ds.x = x
    flat, onehot = ctrgcn_arrays(ds)
    save(tmp_path / "NTU60_CS.npz", x_train=flat[:7], y_train=onehot[:7], x_test=flat[7:], y_test=onehot[7:])
    with caplog.at_level(logging.WARNING):
        got = load_ctrgcn_npz(tmp_path / "NTU60_CS.npz")
    keep = [0, 1, 2, 3, 5, 7, 8, 9]
    assert got.x.shape == (8, 2, 30, 25, 3) and got.layout is NTU25
    np.testing.assert_array_equal(got.x, ds.x[keep])
    np.testing.assert_array_equal(got.lengths, ds.lengths[keep])
    np.testing.assert_array_equal(got.y, ds.y[keep])
    assert got.classes == ntu_class_names(60)
    assert list(got.split) == ["train"] * 5 + ["test"] * 3
    assert list(got.names[:2]) == ["train_000000", "train_000001"] and got.names[-1] == "test_000002"
    assert "train_000004" in caplog.text and "no skeleton" in caplog.text and "train_000006" in caplog.text


def test_ctrgcn_other_skeletons_and_labels(tmp_path):
    ds = make_dataset(n=6, m=1, t=8, v=17, c=2, layout=generic_layout(17))
    flat = ds.x.transpose(0, 2, 1, 3, 4).reshape(6, 8, 34)
    np.savez(tmp_path / "k.npz", x_train=flat, y_train=ds.y)  # class indices, no test part
    got = load_ctrgcn_npz(tmp_path / "k.npz", num_joints=17, coords=2, num_classes=4)
    np.testing.assert_array_equal(got.x, ds.x)
    assert got.classes == ["class_0", "class_1", "class_2", "class_3"]
    with pytest.raises(DataError, match="wrong joint count"):
        load_ctrgcn_npz(tmp_path / "k.npz")  # 34 is not bodies x 25 x 3


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x_train": np.ones((3, 4, 150)), "y_train": np.eye(60)[:2]}, "3 samples but y_train has 2"),
        ({"x_train": np.ones((3, 4, 150)), "y_train": np.full((3, 60), 0.5)}, "not one-hot"),
        ({"x_train": np.ones((3, 4, 150))}, "no matching y_train"),
        ({"y_train": np.eye(60)[:2]}, "no x_train"),
        ({"x_train": np.full((3, 4, 150), np.inf), "y_train": np.eye(60)[:3]}, "NaN or inf"),
        ({"x_train": np.ones((3, 4, 150)), "y_train": np.array([0, 1, -1])}, "unknown label"),
    ],
)
def test_bad_ctrgcn_files(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_ctrgcn_npz(tmp_path / "bad.npz")


# -- PYSKL ------------------------------------------------------------------------------------------


def pyskl_file(path, v=25, c=3, corrupt=None):
    rng = np.random.default_rng(0)
    names = ["S001C001P001R001A001", "S001C002P002R001A050", "S002C001P003R002A013", "S003C003P008R001A060"]
    anns = []
    for k, name in enumerate(names):
        m, t = (2 if k == 1 else 1), 10 + 5 * k
        anns.append({"frame_dir": name, "label": int(name[-3:]) - 1, "total_frames": t,
                     "keypoint": rng.standard_normal((m, t, v, c)).astype(np.float32)})  # fmt: skip
    if corrupt:
        corrupt(anns)
    split = {"xsub_train": names[:2], "xsub_val": names[2:3], "xview_train": names[1:], "xview_val": names[:1]}
    with open(path, "wb") as f:
        pickle.dump({"split": split, "annotations": anns}, f)
    return anns


def test_pyskl_pickle(tmp_path):
    anns = pyskl_file(tmp_path / "ntu60_3danno.pkl")
    ds = load_pyskl(tmp_path / "ntu60_3danno.pkl")  # xsub by default; the 4th sample is in no xsub list
    assert list(ds.names) == [a["frame_dir"] for a in anns[:3]] and ds.x.shape == (3, 2, 20, 25, 3)
    assert list(ds.split) == ["train", "train", "test"] and ds.layout is NTU25
    assert ds.classes == ntu_class_names(60) and list(ds.y) == [0, 49, 12]
    np.testing.assert_array_equal(ds.lengths, [10, 15, 20])
    np.testing.assert_array_equal(ds.x[1, :, :15], anns[1]["keypoint"])
    np.testing.assert_array_equal(ds.x[0, 0, :10], anns[0]["keypoint"][0])
    assert not ds.x[0, 1].any() and not ds.x[0, 0, 10:].any()
    xview = load_pyskl(tmp_path / "ntu60_3danno.pkl", benchmark="xview")
    assert len(xview) == 4 and list(xview.split) == ["test", "train", "train", "train"]


def test_pyskl_2d_coco(tmp_path):
    pyskl_file(tmp_path / "hrnet.pkl", v=17, c=2)
    ds = load_pyskl(tmp_path / "hrnet.pkl", benchmark="xview", num_classes=120)
    assert ds.layout.name == "coco17" and ds.num_coords == 2 and len(ds.classes) == 120


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda a: a[0].update(label=7), "unknown label"),
        (lambda a: a[1].update(total_frames=3), "total_frames"),
        (lambda a: a[2].update(keypoint=np.zeros((20, 25, 3))), "keypoint must be"),
        (lambda a: a[0]["keypoint"].__setitem__((0, 0, 0, 0), np.nan), "NaN"),
        (lambda a: a[2].update(keypoint=np.zeros((1, 20, 24, 3), np.float32)), "wrong joint count"),
        (lambda a: a[0].update(label="drink"), "bad keypoint or label"),
    ],
)
def test_bad_pyskl_files(tmp_path, corrupt, message):
    pyskl_file(tmp_path / "bad.pkl", corrupt=corrupt)
    with pytest.raises(DataError, match=message):
        load_pyskl(tmp_path / "bad.pkl")


def test_pyskl_not_a_pickle_and_one_frame(tmp_path, caplog):
    (tmp_path / "junk.pkl").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError, match="junk.pkl: cannot unpickle"):
        load_pyskl(tmp_path / "junk.pkl")
    pyskl_file(tmp_path / "short.pkl", corrupt=lambda a: a[1].update(total_frames=1, keypoint=a[1]["keypoint"][:, :1]))
    with caplog.at_level(logging.WARNING):
        ds = load_pyskl(tmp_path / "short.pkl")
    assert "S001C002P002R001A050" not in ds.names and "only 1 frame" in caplog.text


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pyskl_pickle_protocols_and_numpy_scalars(tmp_path, protocol):
    kp = np.arange(2 * 5 * 25 * 3, dtype=np.float32).reshape(2, 5, 25, 3)
    ann = {"frame_dir": "S001C001P001R001A010", "label": np.int64(9), "total_frames": np.int64(5), "keypoint": kp}
    with open(tmp_path / "p.pkl", "wb") as f:
        pickle.dump({"split": {"xsub_train": ["S001C001P001R001A010"]}, "annotations": [ann]}, f, protocol=protocol)
    ds = load_pyskl(tmp_path / "p.pkl")
    assert list(ds.y) == [9] and ds.classes[9] == "clapping"
    np.testing.assert_array_equal(ds.x[0], kp)


class _Evil:
    def __reduce__(self):
        return (print, ("this must not run",))


def test_pyskl_runs_no_code(tmp_path, capsys):
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"split": {}, "annotations": [_Evil()]}, f)
    with pytest.raises(DataError, match="builtins.print is not allowed"):
        load_pyskl(tmp_path / "evil.pkl")
    assert "must not run" not in capsys.readouterr().out

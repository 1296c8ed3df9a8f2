"""Corrupt real files at random (truncate, garble or drop tokens and lines, flip bytes): every parser
must return a valid dataset or raise DataError, nothing else."""

from __future__ import annotations

import functools
import os
import pickle
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmar.data.ctrgcn_npz import load_ctrgcn_npz
from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.florence3d import load_florence3d
from llmar.data.generic_npz import load_npz, save_npz
from llmar.data.layout import NTU25
from llmar.data.ntu import load_ntu_raw
from llmar.data.ntu_classes import ntu_class_names
from llmar.data.nw_ucla import load_nw_ucla
from llmar.data.pyskl import load_pyskl

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NTU_FILE = DATA / "ntu_samples" / "raw_skeletons" / "S002C002P009R001A056.skeleton"  # two bodies
UCLA_FILE = DATA / "nw_ucla" / "all_sqe" / "a01_s01_e00_v01.json"
FLORENCE_FILE = DATA / "florence3d" / "florence" / "a01_s1_id1.txt"

# LLMAR_FUZZ_EXAMPLES=2000 for a long hunt with random seeds; the default run is short and repeatable
EXAMPLES = int(os.environ.get("LLMAR_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=EXAMPLES <= 40, database=None)  # fmt: skip
GARBAGE = ["nan", "NaN", "inf", "-inf", "1e999", "1e40", "abc", "", "0x1F", "1,5", "--2", "7", "-1", "0", "300",
           "99999999999999999999", "null", "[]", "{", "]", '"', "true", "1e-50", "\x00"]  # fmt: skip


@st.composite
def text_edits(draw, text: str) -> str:
    """1 to 3 of: truncate, replace a token by garbage or by any float, drop lines, duplicate a line."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "token", "number", "number", "drop", "duplicate"]))
        if op == "truncate":
            joined = "\n".join(lines)
            lines = joined[: draw(st.integers(0, len(joined)))].splitlines()
        elif lines and op in ("token", "number"):  # "number" mostly keeps the structure: values change
            i = draw(st.integers(0, len(lines) - 1))
            tokens = lines[i].split(" ")
            new = draw(st.sampled_from(GARBAGE) if op == "token" else st.floats().map(repr))
            tokens[draw(st.integers(0, len(tokens) - 1))] = new
            lines[i] = " ".join(tokens)
        elif lines and op == "drop":
            i = draw(st.integers(0, len(lines) - 1))
            del lines[i : i + draw(st.integers(1, 30))]
        elif lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
    return "\n".join(lines) + "\n"


@st.composite
def byte_edits(draw, data: bytes) -> bytes:
    """Truncate, or overwrite 1 to 8 random bytes."""
    if draw(st.booleans()):
        return data[: draw(st.integers(0, len(data) - 1))]
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


def check_outcome(load, *args, **kwargs) -> None:
    """``load`` returns a consistent dataset whose samples read cleanly (or as DataError), or raises DataError."""
    try:
        ds = load(*args, **kwargs)
    except DataError:
        return
    assert isinstance(ds, SkeletonDataset)
    ds.validate()
    for i in range(len(ds)):
        try:
            seq = ds.sample(i)
        except DataError:
            continue
        assert seq.dtype == np.float32 and seq.shape[1] == ds.lengths[i] >= 1 and np.isfinite(seq).all()


def needs(path: Path):
    return pytest.mark.skipif(not path.is_file(), reason=f"{path} is absent")


def _text(path: Path) -> str:
    return path.read_text() if path.is_file() else "x\n"


@needs(NTU_FILE)
@FUZZ
@given(text_edits(_text(NTU_FILE)))
def test_ntu_raw_corrupted(text):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / NTU_FILE.name).write_text(text)
        check_outcome(load_ntu_raw, d)


def _one_joint_a_line(text: str) -> str:
    """The same JSON with brackets, commas and numbers as separate tokens and one joint a line."""
    return re.sub(" +", " ", re.sub(r"\s*([\[\],])\s*", r" \1 ", text)).replace("] ,", "] ,\n")


@needs(UCLA_FILE)
@FUZZ
@given(text_edits(_one_joint_a_line(_text(UCLA_FILE))))
def test_nw_ucla_corrupted(text):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / UCLA_FILE.name).write_text(text)
        check_outcome(load_nw_ucla, d)


@needs(FLORENCE_FILE)
@FUZZ
@given(text_edits(_text(FLORENCE_FILE)))
def test_florence_corrupted(text):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / FLORENCE_FILE.name).write_text(text)
        check_outcome(load_florence3d, d)


@functools.cache
def _small_dataset() -> SkeletonDataset:
    """The real NTU samples cut to 12 frames (random numbers when the data is absent)."""
    if NTU_FILE.is_file():
        return load_ntu_raw(NTU_FILE.parent, max_frames=12)
    x = np.random.default_rng(0).standard_normal((6, 2, 12, 25, 3)).astype(np.float32)
    return SkeletonDataset(x=x, lengths=np.full(6, 12), y=np.arange(6), classes=ntu_class_names(60),
                           split=np.array(["train", "test"] * 3), layout=NTU25)  # fmt: skip


def _generic_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        return save_npz(_small_dataset(), Path(d) / "g.npz").read_bytes()


def _ctrgcn_bytes() -> bytes:
    ds = _small_dataset()
    x = ds.x.transpose(0, 2, 1, 3, 4).reshape(len(ds), 12, 150)
    y = np.eye(60)[ds.y]
    with tempfile.TemporaryDirectory() as d:
        np.savez(Path(d) / "c.npz", x_train=x[:4], y_train=y[:4], x_test=x[4:], y_test=y[4:])
        return (Path(d) / "c.npz").read_bytes()


def _pyskl_bytes() -> bytes:
    ds = _small_dataset()
    anns = [{"frame_dir": str(n), "label": int(y), "total_frames": int(t), "keypoint": ds.sample(i)}
            for i, (n, y, t) in enumerate(zip(ds.names, ds.y, ds.lengths, strict=True))]  # fmt: skip
    return pickle.dumps({"split": {"xsub_train": list(ds.names[:4]), "xsub_val": list(ds.names[4:])},
                         "annotations": anns})  # fmt: skip


@FUZZ
@given(byte_edits(_generic_bytes()), st.booleans())
def test_generic_npz_corrupted(data, mmap):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "g.npz").write_bytes(data)
        check_outcome(load_npz, Path(d) / "g.npz", mmap=mmap)


@FUZZ
@given(byte_edits(_ctrgcn_bytes()))
def test_ctrgcn_npz_corrupted(data):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "c.npz").write_bytes(data)
        check_outcome(load_ctrgcn_npz, Path(d) / "c.npz")


@FUZZ
@given(byte_edits(_pyskl_bytes()))
def test_pyskl_corrupted(data):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "p.pkl").write_bytes(data)
        check_outcome(load_pyskl, Path(d) / "p.pkl")

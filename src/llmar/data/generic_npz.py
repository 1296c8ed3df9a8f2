"""The generic ``.npz`` dataset format (memory-mappable).

It is one uncompressed ``.npz`` (a zip of ``.npy`` members):

========================  =================================================================
``x``                     float32 [N, M, T, V, C], zero-padded past each sample's length
``y``                     int [N], class index into ``classes``
``classes``               str [K], readable class names (they become the LLM's answer)
``lengths`` (optional)    int [N] valid frames; default: frames up to the all-zero tail
``split`` (optional)      str [N] tags such as ``train``/``test``/``actor03``; default ``train``
``names`` (optional)      str [N] sample ids
``joint_names``/``parents`` (optional) str [V] / int [V] (-1 for the root): the skeleton tree
``layout`` (optional)     str: the layout's name; ``layout_json`` holds all of it
========================  =================================================================

Any joint count, 2D or 3D, one or more bodies. :func:`save_npz` writes members uncompressed, so
:func:`load_npz` can memory-map ``x``: an uncompressed zip member is a plain ``.npy`` at an offset.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat
from llmar.data.layout import LAYOUTS, JointLayout, generic_layout
from llmar.data.npz_io import (
    ChunkedArray,
    array_names,
    check_finite,
    member_memmap,
    open_zip,
    read_member,
    valid_lengths,
    write_npz,
)

log = logging.getLogger(__name__)

_CHECK_FINITE_BYTES = 1 << 30  # scan x for NaN/inf at load time below this size; bigger: at sample access


def dataset_members(ds: SkeletonDataset, x: np.ndarray | ChunkedArray | None = None) -> dict:
    """The generic format's members for ``ds`` (``x`` may be replaced, e.g. by a ChunkedArray)."""
    return {
        "x": ds.x if x is None else x,
        "lengths": ds.lengths.astype(np.int64),
        "y": ds.y.astype(np.int64),
        "classes": np.array(ds.classes, dtype=str),
        "split": np.asarray(ds.split, dtype=str),
        "names": np.asarray(ds.names, dtype=str),
        "joint_names": np.array(ds.layout.joint_names, dtype=str),
        "parents": np.array(ds.layout.parents, dtype=np.int64),
        "layout": np.array(ds.layout.name),
        "layout_json": np.array(json.dumps(ds.layout.to_dict())),
    }


def save_npz(ds: SkeletonDataset, path: str | Path) -> Path:
    """Write ``ds`` in the generic format (uncompressed, atomic). ``x`` is cast to float32."""
    x = ds.x if ds.x.dtype == np.float32 else ds.x.astype(np.float32)
    return write_npz(path, dataset_members(ds, x))


def _layout_from_members(path: Path, m: dict, num_joints: int) -> JointLayout:
    try:
        if "layout_json" in m:
            layout = JointLayout.from_dict(json.loads(str(m["layout_json"])))
        else:
            parents = [int(p) for p in m["parents"]] if "parents" in m else None
            names = [str(s) for s in m["joint_names"]] if "joint_names" in m else None
            name = str(m["layout"]) if "layout" in m else ""
            known = LAYOUTS.get(name)
            if known is not None and known.num_joints == num_joints and parents in (None, list(known.parents)):
                return known
            layout = generic_layout(num_joints, parents, names)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: bad joint layout: {e}") from None
    if layout.num_joints != num_joints:
        raise DataError(f"{path}: layout {layout.name!r} has {layout.num_joints} joints but x has {num_joints}")
    pairs = [p for p in (layout.hips, layout.shoulders, layout.spine) if p is not None]
    if not 0 <= layout.center < num_joints or any(len(p) != 2 or not all(0 <= j < num_joints for j in p) for p in pairs):
        raise DataError(f"{path}: layout {layout.name!r} names joints outside 0..{num_joints - 1}")
    known = LAYOUTS.get(layout.name)
    return known if known == layout else layout


def load_npz(path: str | Path, mmap: bool = True, check: bool | None = None) -> SkeletonDataset:
    """Read a generic ``.npz``. With ``mmap`` (and an uncompressed file) ``x`` is a read-only memmap.

    ``check`` scans ``x`` for NaN/inf now; by default only when x is under 1 GiB (bigger files are
    checked sample by sample, as :meth:`SkeletonDataset.sample` reads them).
    """
    path = Path(path)
    with open_zip(path) as zf:
        members = {n.removesuffix(".npy"): n for n in zf.namelist() if n.endswith(".npy")}
        missing = {"x", "y", "classes"} - set(members)
        if missing:
            raise DataError(f"{path}: missing array(s) {sorted(missing)}; found {sorted(members)}")
        m = {k: read_member(path, zf, n) for k, n in members.items() if k != "x"}
        x = member_memmap(path, zf, members["x"]) if mmap else None
        if x is None:
            if mmap:
                log.warning("%s: x is compressed, reading it into memory (save_npz writes a mappable file)", path)
            x = read_member(path, zf, members["x"])
    if x.ndim != 5:
        raise DataError(f"{path}: x must be [N, M, T, V, C], got shape {x.shape}")
    if x.dtype != np.float32:
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise DataError(f"{path}: x has dtype {x.dtype}, expected float32")
        log.warning("%s: x is %s, converting to float32 in memory", path, x.dtype)
        x = np.asarray(x, dtype=np.float32)
    try:
        n = len(x)
        lengths = m["lengths"] if "lengths" in m else valid_lengths(x)
        split = m["split"] if "split" in m else np.full(n, "train")
        names = m.get("names")
        if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
            raise DataError(f"{path}: lengths must be integers [N], got {lengths.dtype} {lengths.shape}")
        if m["y"].ndim != 1 or not np.issubdtype(m["y"].dtype, np.integer):
            raise DataError(f"{path}: y must be integer class indices [N], got {m['y'].dtype} {m['y'].shape}")
        ds = SkeletonDataset(
            x=x,
            lengths=lengths,
            y=m["y"],
            classes=[str(c) for c in np.atleast_1d(m["classes"])],
            split=np.atleast_1d(split),
            layout=_layout_from_members(path, m, x.shape[3]),
            names=None if names is None else np.atleast_1d(names),
            source=str(path),
        )
    except DataError:
        raise
    except (TypeError, ValueError) as e:
        raise DataError(f"{path}: malformed arrays: {e}") from None
    if check is None:
        check = not isinstance(x, np.memmap) or x.nbytes <= _CHECK_FINITE_BYTES
    if check:
        check_finite(ds.x, ds.names, str(path))
    return ds


# -- the format entry ----------------------------------------------------------------------------------


def is_generic_npz(path: Path) -> bool:
    """An ``.npz`` with an ``x`` array. It is the last format to look at an ``.npz``, so one with neither
    ``x`` nor CTR-GCN's arrays is a DataError that lists the arrays it has."""
    if not path.is_file() or path.suffix != ".npz":
        return False
    names = array_names(path)
    if "x" not in names:
        raise DataError(f"{path}: .npz with arrays {sorted(names)} is neither the generic nor the CTR-GCN format")
    return True


FORMAT = DataFormat(
    name="npz",
    title="a generic .npz",
    load=load_npz,
    detect=is_generic_npz,
    layouts=(),  # the file names its layout (layout_json, or joint names and parents)
    sample_suffixes=(".npz",),  # a whole dataset: `llmar predict` reads every sample
)

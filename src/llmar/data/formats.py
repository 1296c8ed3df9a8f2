"""File formats: the generic ``.npz`` (memory-mappable) plus the preprocessed files users arrive with.

The generic format is one uncompressed ``.npz`` (a zip of ``.npy`` members):

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
import os
import pickle
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.layout import LAYOUTS, NTU25, JointLayout, generic_layout

log = logging.getLogger(__name__)

_CHECK_FINITE_BYTES = 1 << 30  # scan x for NaN/inf at load time below this size; bigger: at sample access


# -- writing ----------------------------------------------------------------------------------------


@dataclass
class ChunkedArray:
    """An array too big for memory: its shape, dtype, and C-order chunks along axis 0 that fill it."""

    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: Iterable[np.ndarray]


def write_npz(path: str | Path, members: dict[str, np.ndarray | ChunkedArray]) -> Path:
    """Write arrays as an uncompressed ``.npz``, atomically (temp file in the same folder + os.replace)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for key, arr in members.items():
                # force_zip64: the size is not known up front for streamed members
                with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                    if isinstance(arr, ChunkedArray):
                        _write_chunked(f, key, arr)
                    else:  # streams memmaps in 16 MiB pieces, never a whole copy
                        np.lib.format.write_array(f, np.asanyarray(arr), allow_pickle=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_chunked(f, key: str, arr: ChunkedArray) -> None:
    dtype = np.dtype(arr.dtype)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(arr.shape)}
    np.lib.format.write_array_header_2_0(f, header)
    rows = 0
    for chunk in arr.chunks:
        chunk = np.ascontiguousarray(chunk, dtype=dtype)
        if chunk.shape[1:] != tuple(arr.shape[1:]):
            raise ValueError(f"member {key!r}: chunk shape {chunk.shape} does not match {arr.shape}")
        f.write(chunk.tobytes())
        rows += len(chunk)
    if rows != arr.shape[0]:
        raise ValueError(f"member {key!r}: chunks gave {rows} rows, shape says {arr.shape[0]}")


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


# -- reading ----------------------------------------------------------------------------------------


class NpzMemmap(np.memmap):
    """A memmap of an ``.npz`` member that pickles as (file, offset, shape): DataLoader workers started
    by spawn re-open the file instead of receiving a copy. Slices pickle as plain arrays."""

    _npz_source: tuple | None = None

    def __reduce__(self):
        src = self._npz_source
        if src is not None and self.shape == src[3]:
            return _open_memmap, src
        return np.asarray(self).__reduce__()


def _open_memmap(path: str, offset: int, dtype: str, shape: tuple, fortran: bool) -> np.ndarray:
    arr = NpzMemmap(path, dtype=np.dtype(dtype), mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
    arr._npz_source = (path, offset, dtype, shape, fortran)
    return arr


def open_zip(path: str | Path) -> zipfile.ZipFile:
    """Open an ``.npz``; DataError when it is missing or not a readable zip."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such file")
    try:
        return zipfile.ZipFile(path)
    except Exception as e:  # damaged bytes fail in zipfile in many ways (BadZipFile, struct, unicode, ...)
        raise DataError(f"{path}: not a valid .npz (zip) file: {e}") from None


def member_memmap(path: str | Path, zf: zipfile.ZipFile, member: str) -> np.ndarray | None:
    """Memory-map ``member`` of an open ``.npz``, or None when it is compressed (then read it)."""
    try:
        return _member_memmap(path, zf, member)
    except DataError:
        raise
    except Exception as e:  # a damaged .npy header fails in np.lib.format in many ways (even tokenize errors)
        raise DataError(f"{path}: cannot map member {member!r}: {e}") from None


def _member_memmap(path: str | Path, zf: zipfile.ZipFile, member: str) -> np.ndarray | None:
    info = zf.getinfo(member)
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as f:
        # local header: 30 fixed bytes, then name and extra field, whose lengths sit at bytes 26..30
        f.seek(info.header_offset)
        local = f.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise DataError(f"{path}: member {member!r} has a broken zip header")
        name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
        f.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            return None
        offset = f.tell()
    if dtype.hasobject:
        raise DataError(f"{path}: member {member!r} holds Python objects; only plain arrays are accepted")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    member_end = info.header_offset + 30 + name_len + extra_len + info.compress_size
    if offset + nbytes > min(member_end, os.path.getsize(path)):
        raise DataError(f"{path}: member {member!r} is truncated ({nbytes} bytes of data expected)")
    if nbytes == 0:
        return np.zeros(shape, dtype=dtype)
    return _open_memmap(str(path), offset, dtype.str, tuple(shape), fortran)


def _read_member(path: Path, zf: zipfile.ZipFile, member: str) -> np.ndarray:
    try:
        with zf.open(member) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except Exception as e:  # as above, plus CRC mismatches and impossible sizes
        raise DataError(f"{path}: cannot read member {member!r}: {e}") from None


def valid_lengths(x: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Frames up to the all-zero tail of each sample of x [N, M, T, V, C] (0 for an all-zero sample)."""
    n, _, t = x.shape[:3]
    out = np.zeros(n, dtype=np.int64)
    if t == 0:
        return out
    for i in range(0, n, chunk):
        xs = np.asarray(x[i : i + chunk])
        nonzero = (xs != 0).any(axis=(1, 3, 4))  # [n, T]
        last = t - np.argmax(nonzero[:, ::-1], axis=1)
        out[i : i + len(xs)] = np.where(nonzero.any(axis=1), last, 0)
    return out


def check_finite(x: np.ndarray, names: np.ndarray, source: str, chunk: int = 256) -> None:
    """Raise DataError naming the first sample of x that holds NaN or inf (scans in chunks)."""
    for i in range(0, len(x), chunk):
        ok = np.isfinite(np.asarray(x[i : i + chunk])).reshape(min(chunk, len(x) - i), -1).all(axis=1)
        if not ok.all():
            j = i + int(np.argmin(ok))
            raise DataError(f"{source}: sample {str(names[j])!r} contains NaN or inf")


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
        m = {k: _read_member(path, zf, n) for k, n in members.items() if k != "x"}
        x = member_memmap(path, zf, members["x"]) if mmap else None
        if x is None:
            if mmap:
                log.warning("%s: x is compressed, reading it into memory (save_npz writes a mappable file)", path)
            x = _read_member(path, zf, members["x"])
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


# -- CTR-GCN NTU60_CS.npz-style files ---------------------------------------------------------------


def _ntu_classes(num_classes: int) -> list[str] | None:
    if num_classes in (60, 120):
        from llmar.data.ntu import ntu_class_names  # lazy: ntu imports this module

        return ntu_class_names(num_classes)
    return None


def _skip_short(lengths: np.ndarray, names: np.ndarray, min_frames: int, source: str) -> np.ndarray:
    """Indices to keep; warns about each dropped sample (no skeleton, or fewer than min_frames)."""
    short = np.flatnonzero(lengths < max(min_frames, 1))
    for i in short:
        what = "has no skeleton (all zeros)" if lengths[i] == 0 else f"has only {lengths[i]} frame(s)"
        log.warning("%s: skipping sample %r: it %s", source, str(names[i]), what)
    return np.setdiff1d(np.arange(len(lengths)), short)


def _labels(y: np.ndarray, path: Path, key: str) -> np.ndarray:
    """Class indices from one-hot rows [N, K] or indices [N]."""
    if not np.issubdtype(y.dtype, np.number) or not np.isfinite(y).all():
        raise DataError(f"{path}: {key} must hold finite numbers, got {y.dtype}")
    if y.ndim == 2:
        rows_ok = np.isin(y, (0, 1)).all(axis=1) & (y.sum(axis=1) == 1)
        if not rows_ok.all():
            raise DataError(f"{path}: {key} row {int(np.argmin(rows_ok))} is not one-hot")
        return y.argmax(axis=1)
    if y.ndim == 1 and (y == np.round(y)).all():
        return y.astype(np.int64)
    raise DataError(f"{path}: {key} must be one-hot [N, K] or class indices [N], got {y.dtype} {y.shape}")


def load_ctrgcn_npz(
    path: str | Path, num_joints: int = 25, coords: int = 3, num_classes: int | None = None, min_frames: int = 2
) -> SkeletonDataset:
    """Read a CTR-GCN-style ``NTU60_CS.npz`` (x_train [N, T, M*V*C], one-hot y_train, x_test, y_test).

    The flat last axis is bodies x joints x coordinates. Lengths are the frames before the all-zero
    tail; samples with no skeleton or fewer than ``min_frames`` frames are skipped with a warning.
    Loaded into memory (convert once with :func:`save_npz` to memory-map).
    """
    path = Path(path)
    parts = []
    with open_zip(path) as zf:
        names = set(zf.namelist())
        splits = [s for s in ("train", "test") if f"x_{s}.npy" in names]
        if not splits:
            raise DataError(f"{path}: no x_train/x_test arrays; found {sorted(names)}")
        for s in splits:
            if f"y_{s}.npy" not in names:
                raise DataError(f"{path}: x_{s} has no matching y_{s}")
            src = member_memmap(path, zf, f"x_{s}.npy")
            src = _read_member(path, zf, f"x_{s}.npy") if src is None else src
            y = _read_member(path, zf, f"y_{s}.npy")
            parts.append((s, src, y))
    k = num_classes
    xs, ys, tags = [], [], []
    for s, src, y in parts:
        if src.ndim != 3 or src.shape[2] % (num_joints * coords) or 0 in src.shape[1:]:
            raise DataError(
                f"{path}: x_{s} has shape {src.shape}; expected [N, T, M*{num_joints}*{coords}] "
                f"(wrong joint count? pass num_joints/coords)"
            )
        if not np.issubdtype(src.dtype, np.number):
            raise DataError(f"{path}: x_{s} has dtype {src.dtype}")
        labels = _labels(y, path, f"y_{s}")
        if len(labels) != len(src):
            raise DataError(f"{path}: x_{s} has {len(src)} samples but y_{s} has {len(labels)}")
        if y.ndim == 2:
            k = k or y.shape[1]
        n, t, f = src.shape
        m = f // (num_joints * coords)
        x = np.empty((n, m, t, num_joints, coords), dtype=np.float32)
        for i in range(0, n, 256):  # chunked: the source may be a memmap bigger than memory
            x[i : i + 256] = np.asarray(src[i : i + 256]).reshape(-1, t, m, num_joints, coords).transpose(0, 2, 1, 3, 4)
        xs.append(x)
        ys.append(labels)
        tags.append(np.full(n, s))
    shapes = {x.shape[1:] for x in xs}
    if len(shapes) > 1:
        raise DataError(f"{path}: x_train and x_test disagree in shape: {sorted(shapes)}")
    x, y, split = (np.concatenate(a) for a in (xs, ys, tags))
    names = np.array([f"{s}_{i:06d}" for s, part in zip(splits, xs, strict=True) for i in range(len(part))])
    check_finite(x, names, str(path))
    k = k or int(y.max()) + 1
    keep = _skip_short(valid_lengths(x), names, min_frames, str(path))
    if keep.size == 0:
        raise DataError(f"{path}: no usable samples")
    lengths = valid_lengths(x[keep]) if keep.size < len(x) else valid_lengths(x)
    layout = NTU25 if (num_joints, coords) == (25, 3) else generic_layout(num_joints)
    return SkeletonDataset(
        x=x[keep] if keep.size < len(x) else x,
        lengths=lengths,
        y=y[keep],
        classes=_ntu_classes(k) or [f"class_{i}" for i in range(k)],
        split=split[keep],
        layout=layout,
        names=names[keep],
        source=str(path),
    )


# -- PYSKL / MMAction2 ntu60_3danno.pkl-style files -------------------------------------------------

_NTU_NAME = re.compile(r"S\d{3}C\d{3}P\d{3}R\d{3}A(\d{3})")

# COCO-17 keypoints (PYSKL's 2D HRNet annotations), rooted at the nose
_COCO17 = JointLayout(
    name="coco17",
    joint_names=(
        "nose", "eye_left", "eye_right", "ear_left", "ear_right", "shoulder_left", "shoulder_right",
        "elbow_left", "elbow_right", "wrist_left", "wrist_right", "hip_left", "hip_right",
        "knee_left", "knee_right", "ankle_left", "ankle_right",
    ),
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    center=0,
    hips=(11, 12),
    shoulders=(5, 6),
)


def _pick_split(split: dict, benchmark: str | None, path: Path) -> tuple[dict[str, str], str | None]:
    """frame_dir -> 'train'/'test' for one benchmark of a PYSKL split dict (e.g. xsub_train/xsub_val)."""
    if not all(isinstance(k, str) and isinstance(v, (list, tuple)) for k, v in split.items()):
        raise DataError(f"{path}: 'split' must map names to lists of frame_dir")
    prefixes = sorted({k.rsplit("_", 1)[0] for k in split if k.endswith(("_train", "_val", "_test"))})
    if benchmark is None:
        if not prefixes:
            raise DataError(f"{path}: split keys {sorted(split)} have no <benchmark>_train/_val pairs")
        benchmark = "xsub" if "xsub" in prefixes else prefixes[0]
        if len(prefixes) > 1:
            log.info("%s: benchmarks %s in file, using %r (pass benchmark= to choose)", path, prefixes, benchmark)
    elif benchmark not in prefixes:
        raise DataError(f"{path}: no benchmark {benchmark!r} in split; found {prefixes}")
    tags = {}
    for suffix, tag in (("train", "train"), ("val", "test"), ("test", "test")):
        for name in split.get(f"{benchmark}_{suffix}", []):
            tags[str(name)] = tag
    return tags, benchmark


# The only globals a PYSKL/MMAction2 annotation pickle needs: numpy arrays, dtypes and scalars
_PICKLE_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
     ("numpy._core.numeric", "_frombuffer"), ("collections", "OrderedDict"),
     ("_codecs", "encode")}  # fmt: skip  # protocol 2 (mmcv's default) pickles bytes as encode(str, "latin1")


class _AnnotationUnpickler(pickle._Unpickler):
    """Unpickles containers and plain numpy arrays only, so no other code can run, and checks numpy
    state before applying it (a damaged dtype state crashes numpy itself). The pure-Python
    unpickler is the one that lets each BUILD be checked; big arrays still load as bulk bytes."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module: str, name: str):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in an annotation file")
        if name == "scalar":
            return _checked_scalar
        if name == "encode":
            return _latin1_bytes
        return super().find_class(module, name)

    def load_build(self) -> None:
        state, inst = self.stack[-1], self.stack[-2]
        if isinstance(inst, np.dtype):  # legit pickles carry the dtype's own state: nothing to apply
            if type(state) is not tuple or state != inst.__reduce__()[2]:
                raise pickle.UnpicklingError(f"damaged dtype state {state!r}")
            self.stack.pop()
            return
        if isinstance(inst, np.ndarray):
            _check_array_state(state)
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build


def _check_array_state(state) -> None:
    ok = type(state) is tuple and len(state) == 5
    if ok:
        _, shape, dtype, _, raw = state
        ok = (
            isinstance(dtype, np.dtype) and not dtype.hasobject and isinstance(raw, (bytes, bytearray))
            and type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape)
            and len(raw) == int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        )  # fmt: skip
    if not ok:
        raise pickle.UnpicklingError("damaged array state")


def _latin1_bytes(text, encoding="utf-8"):
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("unexpected _codecs.encode call")
    return text.encode("latin1")


def _checked_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("damaged numpy scalar")
    return np.frombuffer(data, dtype=dtype)[0]


def load_pyskl(
    path: str | Path,
    benchmark: str | None = None,
    num_classes: int | None = None,
    max_bodies: int | None = None,
    max_frames: int | None = None,
    min_frames: int = 2,
) -> SkeletonDataset:
    """Read a PYSKL/MMAction2 annotation pickle ({'split': {...}, 'annotations': [{frame_dir, label,
    total_frames, keypoint [M, T, V, C]}]}). Labels are 0-based.

    ``benchmark`` picks the ``<benchmark>_train``/``_val`` lists (default xsub when present); samples
    in neither are dropped. ``keypoint_score`` is ignored. Only containers and numpy arrays are
    unpickled (nothing else can run). ``num_classes`` defaults to 60 or 120 for NTU sample names,
    else the largest label + 1.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = _AnnotationUnpickler(f).load()
    except Exception as e:  # a damaged pickle can fail in any of a dozen ways; all mean a bad file
        raise DataError(f"{path}: cannot unpickle: {type(e).__name__}: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise DataError(f"{path}: expected a dict with an 'annotations' list")
    split = data.get("split")
    if split is not None and not isinstance(split, dict):
        raise DataError(f"{path}: 'split' must be a dict of name lists")
    tags, _ = _pick_split(split, benchmark, path) if split else ({}, None)
    if not split:
        log.warning("%s: no 'split' in file, tagging every sample 'train'", path)

    seqs, labels, names, split_tags = [], [], [], []
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict):
            raise DataError(f"{path}: annotation {i} is not a dict")
        name = str(ann.get("frame_dir", f"annotation_{i}"))
        if split and name not in tags:
            continue
        kp, label = ann.get("keypoint"), ann.get("label")
        try:
            kp = np.asarray(kp, dtype=np.float32)
            label = int(label)
        except (TypeError, ValueError) as e:
            raise DataError(f"{path}: sample {name!r}: bad keypoint or label: {e}") from None
        if kp.ndim != 4 or kp.shape[-1] not in (2, 3) or kp.shape[0] < 1 or kp.shape[2] < 1:
            raise DataError(f"{path}: sample {name!r}: keypoint must be [M, T, V, 2|3], got {kp.shape}")
        if not np.isfinite(kp).all():
            raise DataError(f"{path}: sample {name!r} contains NaN or inf")
        total = ann.get("total_frames", kp.shape[1])
        if not isinstance(total, (int, np.integer)) or total != kp.shape[1]:
            raise DataError(f"{path}: sample {name!r}: total_frames={total!r} but keypoint has {kp.shape[1]}")
        ntu = _NTU_NAME.fullmatch(name)
        if label < 0 or (ntu and int(ntu.group(1)) != label + 1):
            raise DataError(f"{path}: sample {name!r} has unknown label {label}")
        if kp.shape[1] < max(min_frames, 1):
            log.warning("%s: skipping sample %r: it has only %d frame(s)", path, name, kp.shape[1])
            continue
        seqs.append(kp)
        labels.append(label)
        names.append(name)
        split_tags.append(tags.get(name, "train"))
    if not seqs:
        raise DataError(f"{path}: no usable samples")
    joint_shapes = {s.shape[2:] for s in seqs}
    if len(joint_shapes) > 1:
        raise DataError(f"{path}: samples disagree on [V, C]: {sorted(joint_shapes)} (wrong joint count?)")
    v, c = seqs[0].shape[2:]
    m = max(s.shape[0] for s in seqs) if max_bodies is None else max_bodies
    t_max = max(s.shape[1] for s in seqs)
    t = t_max if max_frames is None else min(max_frames, t_max)
    x = np.zeros((len(seqs), m, t, v, c), dtype=np.float32)
    for i, s in enumerate(seqs):
        if s.shape[1] > t:
            log.warning("%s: sample %r has %d frames, keeping the first %d", path, names[i], s.shape[1], t)
        x[i, : min(m, s.shape[0]), : min(t, s.shape[1])] = s[:m, :t]
    if num_classes is not None:
        k = num_classes
    elif all(_NTU_NAME.fullmatch(n) for n in names):  # NTU: 60 or 120 whatever subset this split holds
        k = 120 if max(labels) >= 60 else 60
    else:
        k = int(max(labels)) + 1
    if max(labels) >= k:
        raise DataError(f"{path}: label {max(labels)} is outside {k} classes")
    if v == 25 and c == 3:
        layout = NTU25
    elif v == 17:
        layout = _COCO17
    else:
        layout = generic_layout(v)
    return SkeletonDataset(
        x=x,
        lengths=np.minimum([s.shape[1] for s in seqs], t),
        y=np.array(labels),
        classes=_ntu_classes(k) or [f"class_{i}" for i in range(k)],
        split=np.array(split_tags),
        layout=layout,
        names=np.array(names),
        source=str(path),
    )

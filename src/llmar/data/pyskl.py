"""PYSKL / MMAction2 ``ntu60_3danno.pkl``-style annotation pickles, read by a restricted unpickler."""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat
from llmar.data.layout import COCO17, NTU25, layout_by_joint_count
from llmar.data.ntu_classes import default_class_names

log = logging.getLogger(__name__)

PYSKL_LAYOUTS = (NTU25, COCO17)  # NTU's 3D Kinect skeletons, and the 2D HRNet annotations in COCO order
_NTU_NAME = re.compile(r"S\d{3}C\d{3}P\d{3}R\d{3}A(\d{3})")


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
    layout = layout_by_joint_count(v, PYSKL_LAYOUTS, c)
    return SkeletonDataset(
        x=x,
        lengths=np.minimum([s.shape[1] for s in seqs], t),
        y=np.array(labels),
        classes=default_class_names(k),
        split=np.array(split_tags),
        layout=layout,
        names=np.array(names),
        source=str(path),
    )


# -- the format entry ----------------------------------------------------------------------------------

FORMAT = DataFormat(
    name="pyskl",
    title="a PYSKL annotation pickle",
    load=load_pyskl,
    detect=lambda path: path.is_file() and path.suffix in (".pkl", ".pickle"),
    layouts=PYSKL_LAYOUTS,
    sample_suffixes=(".pkl", ".pickle"),  # a whole dataset: `llmar predict` reads every sample
)

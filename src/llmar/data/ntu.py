"""NTU RGB+D 60/120 folders to datasets: :func:`load_ntu_raw` parses a raw folder into memory and
:func:`prepare_ntu` converts it to the generic ``.npz`` once (the per-file parser and denoising live in
:mod:`llmar.data.ntu_skeleton`, names, splits and published lists in :mod:`llmar.data.ntu_protocols`).

Samples on the published missing-skeleton list (or a user-given list), files with no body in any
frame, and sequences shorter than ``min_frames`` after denoising are skipped with a logged warning.
Malformed files raise :class:`DataError` (or are skipped with a warning under ``on_error="skip"``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.formats import DataFormat, Sample, holds
from llmar.data.generic_npz import save_npz
from llmar.data.layout import NTU25
from llmar.data.ntu_classes import ntu_class_names
from llmar.data.ntu_protocols import BENCHMARKS, NtuName, missing_skeletons, parse_ntu_name, split_tag
from llmar.data.ntu_skeleton import MAX_BODIES, NUM_JOINTS, MissingSkeleton, load_ntu_sample

log = logging.getLogger(__name__)

# -- folders to datasets --------------------------------------------------------------------------------


def find_skeleton_files(raw_dir: str | Path | Sequence[str | Path]) -> list[Path]:
    """All ``*.skeleton`` files under one or more folders (NTU120 comes as two zips), sorted by name."""
    dirs = [raw_dir] if isinstance(raw_dir, (str, Path)) else list(raw_dir)
    files = []
    for d in map(Path, dirs):
        if not d.is_dir():
            raise DataError(f"{d}: not a folder of NTU .skeleton files")
        files += d.rglob("*.skeleton")
    if not files:
        raise DataError(f"{', '.join(map(str, dirs))}: no .skeleton files found")
    return sorted(files, key=lambda p: p.name)


def _select(files: list[Path], num_classes: int | None, missing_file) -> tuple[list[Path], list[NtuName], int]:
    """Parse names, infer the class count, drop samples outside it and those on the missing lists."""
    infos = [parse_ntu_name(f) for f in files]
    if num_classes is None:
        num_classes = 120 if any(i.action > 60 or i.setup > 17 for i in infos) else 60
    if num_classes not in (60, 120):
        raise ValueError(f"NTU has 60 or 120 classes, not {num_classes}")
    if num_classes == 60:
        keep = [k for k, i in enumerate(infos) if i.action <= 60 and i.setup <= 17]
        if len(keep) < len(files):
            log.info("NTU60: leaving out %d NTU120-only samples", len(files) - len(keep))
        files, infos = [files[k] for k in keep], [infos[k] for k in keep]
    missing = missing_skeletons(num_classes, missing_file)
    listed = [k for k, i in enumerate(infos) if i.name in missing]
    if listed:
        shown = ", ".join(infos[k].name for k in listed[:3])
        log.warning("skipping %d samples listed as missing skeletons (%s%s)", len(listed), shown,
                    ", ..." if len(listed) > 3 else "")  # fmt: skip
        listed_set = set(listed)
        files = [f for k, f in enumerate(files) if k not in listed_set]
        infos = [i for k, i in enumerate(infos) if k not in listed_set]
    return files, infos, num_classes


def _process(path: Path) -> tuple[np.ndarray | None, str | None, bool]:
    """Worker: (sequence, problem, is_error). Errors travel back as text so the parent applies on_error."""
    try:
        return load_ntu_sample(path), None, False
    except MissingSkeleton as e:
        return None, str(e), False
    except DataError as e:
        return None, str(e), True


def _parsed(files: list[Path], workers: int, progress: bool) -> Iterator[tuple]:
    bar = tqdm(total=len(files), desc="parsing NTU skeletons", unit="file", disable=not progress)
    with bar:
        if workers <= 1:
            for f in files:
                yield _process(f)
                bar.update()
        else:
            with Pool(workers) as pool:
                for out in pool.imap(_process, files, chunksize=16):
                    yield out
                    bar.update()


def _collect(files, infos, x_out, benchmark, num_classes, *, max_frames, workers, on_error, min_frames, progress):
    """Parse ``files`` into consecutive rows of ``x_out``; returns the kept samples' metadata."""
    lengths, labels, split, names = [], [], [], []
    parsed = _parsed(files, workers, progress)
    try:
        for path, info, (seq, problem, is_error) in zip(files, infos, parsed, strict=True):
            if is_error and on_error == "raise":
                raise DataError(problem)
            if seq is None:
                log.warning("skipping %s", problem)
                continue
            if seq.shape[1] < max(min_frames, 1):
                log.warning("skipping %s: only %d frame(s) after denoising", path, seq.shape[1])
                continue
            if seq.shape[1] > max_frames:
                log.warning("%s: %d frames, keeping the first %d", path, seq.shape[1], max_frames)
                seq = seq[:, :max_frames]
            x_out[len(lengths), :, : seq.shape[1]] = seq
            lengths.append(seq.shape[1])
            labels.append(info.action - 1)
            split.append(split_tag(info, benchmark, num_classes))
            names.append(info.name)
    finally:
        parsed.close()  # stops the worker pool at once when a bad file aborts the run
    if not lengths:
        raise DataError(f"{files[0].parent if files else '?'}: no usable NTU samples")
    return np.array(lengths), np.array(labels), np.array(split), np.array(names)


def _check_options(benchmark: str, on_error: str) -> None:
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown NTU benchmark {benchmark!r}; choose from {BENCHMARKS}")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")


def load_ntu_raw(
    raw_dir: str | Path | Sequence[str | Path],
    benchmark: str = "xsub",
    num_classes: int | None = None,
    max_frames: int = 300,
    workers: int = 1,
    missing_file: str | Path | None = None,
    on_error: str = "raise",
    min_frames: int = 2,
    progress: bool = False,
) -> SkeletonDataset:
    """Parse a folder of raw files straight into memory (fine for small sets; use prepare_ntu for NTU)."""
    _check_options(benchmark, on_error)
    files, infos, num_classes = _select(find_skeleton_files(raw_dir), num_classes, missing_file)
    x = np.zeros((len(files), MAX_BODIES, max_frames, NUM_JOINTS, 3), dtype=np.float32)
    lengths, y, split, names = _collect(
        files, infos, x, benchmark, num_classes, max_frames=max_frames, workers=workers, on_error=on_error,
        min_frames=min_frames, progress=progress,
    )
    return SkeletonDataset(
        x=x[: len(y)], lengths=lengths, y=y, classes=ntu_class_names(num_classes), split=split, layout=NTU25,
        names=names, source=str(raw_dir),
    )  # fmt: skip


def prepare_ntu(
    raw_dir: str | Path | Sequence[str | Path],
    out_path: str | Path,
    benchmark: str = "xsub",
    num_classes: int | None = None,
    max_frames: int = 300,
    workers: int | None = None,
    missing_file: str | Path | None = None,
    on_error: str = "raise",
    min_frames: int = 2,
    progress: bool = True,
) -> Path:
    """Parse and denoise every raw file once and write the generic ``.npz`` (memory-mappable).

    ``num_classes`` None infers 60 or 120 from the file names; with 60, NTU120-only samples are left
    out. Sequences are zero-padded (or cut, with a warning) to ``max_frames``. Samples are parsed in
    ``workers`` processes (default: CPU count, at most 8) into a sparse temporary file next to
    ``out_path``, so memory stays flat at NTU120 size.
    """
    _check_options(benchmark, on_error)
    out_path = Path(out_path)
    workers = workers if workers is not None else min(8, os.cpu_count() or 1)
    files, infos, num_classes = _select(find_skeleton_files(raw_dir), num_classes, missing_file)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.x.npy")
    x = np.lib.format.open_memmap(
        tmp, mode="w+", dtype=np.float32, shape=(len(files), MAX_BODIES, max_frames, NUM_JOINTS, 3)
    )
    try:
        lengths, y, split, names = _collect(
            files, infos, x, benchmark, num_classes, max_frames=max_frames, workers=workers, on_error=on_error,
        min_frames=min_frames, progress=progress,
        )
        ds = SkeletonDataset(
            x=x[: len(y)], lengths=lengths, y=y, classes=ntu_class_names(num_classes), split=split,
            layout=NTU25, names=names, source=str(raw_dir),
        )  # fmt: skip
        save_npz(ds, out_path)
        tags, counts = np.unique(split, return_counts=True)
        log.info("wrote %s: %s", out_path, ", ".join(f"{n} {t}" for t, n in zip(tags, counts, strict=True)))
    finally:
        del x
        tmp.unlink(missing_ok=True)
    return out_path


# -- the format entry ----------------------------------------------------------------------------------


def _read_skeleton_sample(path: Path) -> Sample:
    return path.stem, load_ntu_sample(path)


FORMAT = DataFormat(
    name="ntu_raw",
    title="a raw NTU RGB+D .skeleton file",
    load=load_ntu_raw,
    detect=lambda path: holds(path, "*.skeleton"),  # a folder with .skeleton files at any depth
    layouts=(NTU25,),
    sample_suffixes=(".skeleton",),
    read_sample=_read_skeleton_sample,
)

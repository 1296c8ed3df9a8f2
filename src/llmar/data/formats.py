"""What a file-format module declares, in one :class:`DataFormat` entry, for the registry to use.

Each format module (``ntu``, ``nw_ucla``, ``pyskl``, ...) ends with ``FORMAT = DataFormat(...)``: its
kind, how to recognise a dataset of it (a folder, or a file that holds a whole dataset), how to load
one, the joint layouts its files come in, and how ``llmar predict`` recognises and reads one sample
file of it. :mod:`llmar.data.registry` lists the entries in the order they are tried and is the only
place that goes through them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.joint_layout import JointLayout

HEAD_BYTES = 1 << 16  # content sniffing reads at most this much of a file: enough for its first keys

Sample = tuple[str, np.ndarray]  # (name, float32 [M, T, V, C])


def never(path: Path) -> bool:
    """The detector of a format that is never told from a path (it must be named)."""
    return False


@dataclass(frozen=True)
class DataFormat:
    """One file format, as the registry sees it.

    ``load(path, **options)`` reads a dataset (``load(**options)`` when ``needs_path`` is False), or is
    None for a format of lone samples that make no dataset (a bare ``.npy`` array).

    ``detect(path)`` says, cheaply (names, a few bytes), whether ``path``, a folder or a file, is a
    dataset of this format; it may raise DataError when the path is plainly meant for this format (its
    suffix) but cannot be one, to say why.

    ``layouts`` are the joint layouts its files come in, for
    :func:`~llmar.data.layout.layout_by_joint_count` to choose from when there are several; empty when
    the files name their own layout.

    One sample file (``llmar predict``) is a file whose lower-case suffix is in ``sample_suffixes`` and
    that ``is_sample`` accepts. A format with ``is_sample`` None takes the files of those suffixes that
    no other format claimed (NW-UCLA takes the JSON that is no one else's). ``read_sample`` reads one
    sample; when it is None the file holds a whole dataset, loaded as ``load_dataset("auto", path)``.
    """

    name: str
    title: str  # what one of its files is, in messages: "a NW-UCLA sample"
    load: Callable[..., SkeletonDataset] | None
    detect: Callable[[Path], bool] = never
    layouts: tuple[JointLayout, ...] = ()
    sample_suffixes: tuple[str, ...] = ()
    is_sample: Callable[[Path], bool] | None = None
    read_sample: Callable[[Path], Sample] | None = None
    needs_path: bool = True


def read_head(path: Path) -> str:
    """The start of a file as text, for telling formats apart by their first keys."""
    try:
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES).decode("utf-8", "replace")
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e}") from None


def holds(folder: Path, pattern: str) -> bool:
    """Whether ``folder`` (a folder) has a file matching ``pattern`` at any depth; stops at the first."""
    return folder.is_dir() and next(folder.rglob(pattern), None) is not None

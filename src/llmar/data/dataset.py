"""The one in-memory (or memory-mapped) representation every loader produces.

A :class:`SkeletonDataset` holds ``x`` float32 [N, M, T, V, C] zero-padded (M bodies, T frames,
V joints, C = 2 or 3 coordinates), ``lengths`` [N] valid frames, ``y`` [N] class indices,
``classes`` [K] names, ``split`` [N] split tags (``train``/``test`` or fold names), ``names`` [N]
sample ids, and the joint ``layout``. ``x`` may be a numpy memmap: nothing here copies it whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llmar.data.layout import JointLayout


class DataError(ValueError):
    """Bad input data; the message names the file (or sample) and the problem."""


@dataclass
class SkeletonDataset:
    x: np.ndarray
    lengths: np.ndarray
    y: np.ndarray
    classes: list[str]
    split: np.ndarray
    layout: JointLayout
    names: np.ndarray | None = None
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.lengths = np.asarray(self.lengths, dtype=np.int64)
        self.y = np.asarray(self.y, dtype=np.int64)
        self.split = np.asarray(self.split).astype(str)
        self.classes = [str(c) for c in self.classes]
        if self.names is None:
            self.names = np.array([f"sample_{i:06d}" for i in range(len(self.y))])
        self.names = np.asarray(self.names).astype(str)
        self.validate()

    @classmethod
    def from_sequences(cls, sequences: list[np.ndarray], y, classes, split, layout: JointLayout, names=None,
                       source: str = "<memory>") -> SkeletonDataset:
        """Zero-pad variable-length sequences ([T, V, C] for one body, or [M, T, V, C]) into one dataset."""
        seqs = [s[None] if s.ndim == 3 else s for s in sequences]
        if not seqs:
            raise DataError(f"{source}: no usable samples")
        m, t = max(s.shape[0] for s in seqs), max(s.shape[1] for s in seqs)
        x = np.zeros((len(seqs), m, t, *seqs[0].shape[2:]), dtype=np.float32)
        for i, s in enumerate(seqs):
            x[i, : s.shape[0], : s.shape[1]] = s
        return cls(x=x, lengths=np.array([s.shape[1] for s in seqs]), y=np.asarray(y), classes=list(classes),
                   split=np.asarray(split), layout=layout, names=None if names is None else np.asarray(names),
                   source=source)

    # -- checks -----------------------------------------------------------------------------
    def validate(self) -> None:
        src = self.source
        if self.x.ndim != 5:
            raise DataError(f"{src}: x must be [N, M, T, V, C], got shape {tuple(self.x.shape)}")
        n, _, t, v, c = self.x.shape
        for key, arr in (("lengths", self.lengths), ("y", self.y), ("split", self.split), ("names", self.names)):
            if len(arr) != n:
                raise DataError(f"{src}: {key} has {len(arr)} entries but x has {n} samples")
        if n == 0:
            raise DataError(f"{src}: dataset is empty")
        if c not in (2, 3):
            raise DataError(f"{src}: expected 2 or 3 coordinates per joint, got {c}")
        if v != self.layout.num_joints:
            raise DataError(
                f"{src}: x has {v} joints but layout {self.layout.name!r} has {self.layout.num_joints}"
            )
        if len(self.classes) == 0:
            raise DataError(f"{src}: no class names")
        bad = np.flatnonzero((self.y < 0) | (self.y >= len(self.classes)))
        if bad.size:
            raise DataError(
                f"{src}: sample {self.names[bad[0]]!r} has unknown label {self.y[bad[0]]} "
                f"(classes 0..{len(self.classes) - 1})"
            )
        bad = np.flatnonzero((self.lengths < 1) | (self.lengths > t))
        if bad.size:
            raise DataError(
                f"{src}: sample {self.names[bad[0]]!r} has {self.lengths[bad[0]]} valid frames "
                f"(must be 1..{t})"
            )

    # -- access -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.y)

    @property
    def num_bodies(self) -> int:
        return self.x.shape[1]

    @property
    def num_coords(self) -> int:
        return self.x.shape[4]

    def indices(self, split: str | list[str] | None = None) -> np.ndarray:
        """Indices of the samples whose split tag is ``split`` (one tag or a list)."""
        if split is None:
            return np.arange(len(self))
        tags = [split] if isinstance(split, str) else list(split)
        idx = np.flatnonzero(np.isin(self.split, tags))
        if idx.size == 0:
            raise DataError(f"{self.source}: no samples in split {tags}; splits present: {sorted(set(self.split))}")
        return idx

    def sample(self, i: int) -> np.ndarray:
        """The valid frames of sample ``i`` as float32 [M, T_i, V, C] (a copy)."""
        arr = np.array(self.x[i, :, : self.lengths[i]], dtype=np.float32)  # a writable copy, also of a memmap
        if not np.isfinite(arr).all():
            raise DataError(f"{self.source}: sample {str(self.names[i])!r} contains NaN or inf")
        return arr

    def class_counts(self, split: str | None = None) -> dict[str, int]:
        idx = self.indices(split)
        counts = np.bincount(self.y[idx], minlength=len(self.classes))
        return {c: int(k) for c, k in zip(self.classes, counts)}

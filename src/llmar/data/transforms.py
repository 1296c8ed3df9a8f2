"""Preprocessing as the field does it: centre, align the view, normalise scale, crop, resample, rotate.

Everything works on one sample's valid frames, float32 [M, T, V, C], any joint count, C = 2 or 3.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import Dataset

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.layout import JointLayout


def body_mask(seq: np.ndarray) -> np.ndarray:
    """[M] True where a body has any non-zero joint (absent bodies are zero-padded)."""
    return np.abs(seq).reshape(seq.shape[0], -1).sum(-1) > 0


def center(seq: np.ndarray, layout: JointLayout) -> np.ndarray:
    """Subtract the first body's centre joint at its first present frame from every present body."""
    present = body_mask(seq)
    if not present.any():
        return seq
    main = seq[np.argmax(present)]
    nonzero = np.flatnonzero(np.abs(main).reshape(main.shape[0], -1).sum(-1) > 0)
    origin = main[nonzero[0] if nonzero.size else 0, layout.center]
    out = seq - origin
    out[~present] = 0.0
    return out


def _rotation_to(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3x3 rotation taking unit vector a onto unit vector b (Rodrigues)."""
    a = a / (np.linalg.norm(a) + 1e-8)
    b = b / (np.linalg.norm(b) + 1e-8)
    v, c = np.cross(a, b), float(np.dot(a, b))
    if c < -1 + 1e-6:  # opposite: rotate pi about any axis orthogonal to a
        axis = np.cross(a, [1.0, 0, 0] if abs(a[0]) < 0.9 else [0, 1.0, 0])
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


def alignment_problem(layout: JointLayout, num_coords: int) -> str | None:
    """Why :func:`align_view` cannot act on this data (None when it can)."""
    if num_coords != 3:
        return f"view alignment needs 3D joints; this data has {num_coords} coordinates"
    if layout.hips is None:
        return (f"layout {layout.name!r} has no left/right hips (name them e.g. hip_left, hip_right; "
                "see README, 'Bring your own data')")
    if layout.spine is None and layout.shoulders is None:
        return f"layout {layout.name!r} has no spine joints and no shoulders to draw the spine from"
    return None


def _spine_vector(frame: np.ndarray, layout: JointLayout) -> np.ndarray:
    if layout.spine is not None:
        return frame[layout.spine[1]] - frame[layout.spine[0]]
    return frame[list(layout.shoulders)].mean(0) - frame[list(layout.hips)].mean(0)  # mid-hips -> mid-shoulders


def align_view(seq: np.ndarray, layout: JointLayout) -> np.ndarray:
    """Rotate 3D sequences so the first frame's spine points along +y and its hips along +x (a no-op when
    :func:`alignment_problem` names a reason)."""
    if alignment_problem(layout, seq.shape[-1]) is not None:
        return seq
    present = body_mask(seq)
    if not present.any():
        return seq
    first = seq[np.argmax(present), 0]
    r1 = _rotation_to(_spine_vector(first, layout), np.array([0.0, 1.0, 0.0]))
    hips = r1 @ (first[layout.hips[1]] - first[layout.hips[0]])
    hips[1] = 0.0  # only the heading about the vertical axis is left to fix
    r2 = _rotation_to(hips, np.array([1.0, 0.0, 0.0])) if np.linalg.norm(hips) > 1e-6 else np.eye(3)
    out = seq @ (r2 @ r1).T
    out[~present] = 0.0
    return out.astype(np.float32)


def normalize_scale(seq: np.ndarray, layout: JointLayout) -> np.ndarray:
    """Divide by the mean bone length of the present bodies, so units and body size drop out."""
    present = body_mask(seq)
    bones = layout.bones
    if not present.any() or not bones:
        return seq
    child, parent = np.array(bones).T
    lengths = np.linalg.norm(seq[present][:, :, child] - seq[present][:, :, parent], axis=-1)
    scale = float(lengths[lengths > 0].mean()) if (lengths > 0).any() else 0.0
    return seq / scale if scale > 1e-8 else seq


def crop_resample(seq: np.ndarray, num_frames: int, ratio: float = 1.0, offset: float = 0.5) -> np.ndarray:
    """Take a window of ``ratio`` of the frames starting at ``offset`` (0..1 of the slack) and resample
    it linearly to ``num_frames``."""
    t = seq.shape[1]
    length = max(1, min(t, int(round(t * ratio))))
    start = int(round((t - length) * offset))
    window = seq[:, start : start + length]
    if length == 1:
        return np.repeat(window, num_frames, axis=1)
    pos = np.linspace(0, length - 1, num_frames)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, length - 1)
    w = (pos - lo)[None, :, None, None].astype(np.float32)
    return window[:, lo] * (1 - w) + window[:, hi] * w


def random_rotation(seq: np.ndarray, max_deg: float, rng: np.random.Generator) -> np.ndarray:
    """Rotate by uniform random angles in [-max_deg, max_deg] about each axis (about z for 2D)."""
    if max_deg <= 0:
        return seq
    present = body_mask(seq)
    if seq.shape[-1] == 2:
        a = math.radians(rng.uniform(-max_deg, max_deg))
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    else:
        ax, ay, az = np.radians(rng.uniform(-max_deg, max_deg, 3))
        rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
        ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
        rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
        rot = rz @ ry @ rx
    out = (seq @ rot.T).astype(np.float32)
    out[~present] = 0.0
    return out


def random_scaling(seq: np.ndarray, scale_range: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Multiply by one uniform random factor in ``scale_range`` (the field's random scaling; with
    normalised bone lengths it varies apparent body size). (1, 1) is off and draws nothing, so runs
    without it keep their random streams."""
    lo, hi = scale_range
    if lo == hi == 1.0:
        return seq
    return (seq * np.float32(rng.uniform(lo, hi))).astype(np.float32)


def fit_bodies(seq: np.ndarray, max_bodies: int) -> np.ndarray:
    """Keep the first ``max_bodies`` bodies (loaders order them by activity), zero-pad to that many."""
    m = seq.shape[0]
    if m >= max_bodies:
        return seq[:max_bodies]
    pad = np.zeros((max_bodies - m, *seq.shape[1:]), dtype=seq.dtype)
    return np.concatenate([seq, pad], axis=0)


def preprocess(
    seq: np.ndarray,
    layout: JointLayout,
    num_frames: int = 64,
    max_bodies: int = 2,
    *,
    do_center: bool = True,
    do_align: bool = False,
    do_normalize: bool = True,
    train: bool = False,
    crop_ratio: tuple[float, float] = (0.8, 1.0),
    rotation_deg: float = 0.0,
    scale_range: tuple[float, float] = (1.0, 1.0),
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """One sample's valid frames [M, T, V, C] -> fixed-size float32 [max_bodies, num_frames, V, C]."""
    seq = np.asarray(seq, dtype=np.float32)
    if seq.ndim != 4 or seq.shape[1] == 0:
        raise DataError(f"expected a sequence [M, T, V, C] with at least one frame, got shape {seq.shape}")
    if not np.isfinite(seq).all():
        raise DataError("sequence contains NaN or inf")
    seq = fit_bodies(seq, max_bodies)
    if do_center:
        seq = center(seq, layout)
    if do_align:
        seq = align_view(seq, layout)
    if do_normalize:
        seq = normalize_scale(seq, layout)
    if train:
        rng = rng or np.random.default_rng()
        seq = crop_resample(seq, num_frames, rng.uniform(*crop_ratio), rng.uniform())
        seq = random_rotation(seq, rotation_deg, rng)
        seq = random_scaling(seq, scale_range, rng)
    else:
        seq = crop_resample(seq, num_frames)
    return np.ascontiguousarray(seq, dtype=np.float32)


class SkeletonClips(Dataset):
    """Torch view of a :class:`SkeletonDataset` subset, preprocessed on the fly.

    Augmentation randomness is a pure function of (seed, epoch, sample index), so a resumed run sees
    exactly the clips an uninterrupted run would.
    """

    def __init__(self, ds: SkeletonDataset, indices: np.ndarray, data_cfg, train: bool, seed: int = 0):
        self.ds, self.indices, self.cfg, self.train, self.seed = ds, np.asarray(indices), data_cfg, train, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        idx = int(self.indices[i])
        cfg = self.cfg
        rng = np.random.default_rng([self.seed, self.epoch, idx])
        clip = preprocess(
            self.ds.sample(idx),
            self.ds.layout,
            cfg.num_frames,
            cfg.max_bodies,
            do_center=cfg.center,
            do_align=cfg.align_view,
            do_normalize=cfg.normalize_scale,
            train=self.train,
            crop_ratio=tuple(cfg.crop_ratio),
            rotation_deg=cfg.rotation_deg,
            scale_range=tuple(cfg.scale_range),
            rng=rng,
        )
        return {
            "x": torch.from_numpy(clip),
            "body_mask": torch.from_numpy(body_mask(clip)),
            "y": int(self.ds.y[idx]),
            "index": idx,
        }

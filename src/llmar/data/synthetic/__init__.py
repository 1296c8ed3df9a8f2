"""The built-in default dataset: procedural skeleton actions on the NTU 25-joint tree.

Every sample is made by forward kinematics on :data:`~llmar.data.layout.NTU25`: bone lengths come from
a body size (so they stay constant over a sequence) and joint rotations are smooth, keyframed functions
of the action's phase. It needs no download, so tests, examples and smoke runs have data with the shape
and units of NTU RGB+D (metres, y up, x across, z depth, subject about 3 m from the camera).

The classes differ by motion, not by one static pose, and some pairs are close on purpose (squat / sit
down, punch / throw, jump / stand up, wave / raise both arms), so a good recognizer scores high but not
necessarily 100 %. Each subject has fixed proportions, handedness and style, which makes the
subject-wise train/test split a real generalisation test.
"""

from __future__ import annotations

import numpy as np

from llmar.data.dataset import SkeletonDataset
from llmar.data.formats import DataFormat
from llmar.data.layout import NTU25
from llmar.data.synthetic.actions import ACTIONS, DURATION
from llmar.data.synthetic.body import (
    ANKLES,
    DEG,
    DIRS,
    FEET,
    GROUP_OF,
    GROUPS,
    LENGTHS,
    MIRROR,
    NUM_JOINTS,
    Pose,
    forward_kinematics,
    rot_y,
)

CLASSES: tuple[str, ...] = (
    "wave", "clap", "punch", "kick", "jump", "squat",
    "bow", "walk", "sit down", "raise both arms", "stand up", "throw",
)
FPS = 30.0


def _samplers(rng: np.random.Generator, subjects: np.ndarray, num_subjects: int, style: float = 0.6):
    """Per-sample parameter draws that mix a per-subject value (weight ``style``: a subject's own way of
    doing the action) with a per-sample one. Returned arrays are [n, 1]."""

    def r(lo, hi) -> np.ndarray:
        mix = style * rng.random(num_subjects)[subjects] + (1 - style) * rng.random(len(subjects))
        return lo + (np.asarray(hi) - lo) * mix[:, None]

    def ri(lo: int, hi: int) -> np.ndarray:
        return np.minimum(np.floor(r(lo, hi + 1)), hi).astype(np.int64)

    return r, ri


def make_synthetic_dataset(
    num_subjects: int = 10,
    repeats: int = 4,
    num_frames: tuple[int, int] = (48, 96),
    seed: int = 0,
    test_subjects: int = 3,
    *,
    noise: float = 0.006,
) -> SkeletonDataset:
    """Procedural NTU-25 skeleton actions: ``repeats`` samples of each of the :data:`CLASSES` per subject.

    Lengths are drawn in ``num_frames`` (inclusive) and include a short idle lead-in and tail; the
    last ``test_subjects`` subjects form the ``test`` split. ``noise`` is the per-coordinate standard
    deviation of the Gaussian joint noise in metres (the default gives about 1 cm per joint).
    The result is the same, byte for byte, for the same arguments.
    """
    lo, hi = (int(v) for v in num_frames)
    if num_subjects < 1 or repeats < 1:
        raise ValueError(f"synthetic dataset: need num_subjects >= 1 and repeats >= 1, got {num_subjects}, {repeats}")
    if not 0 <= test_subjects <= num_subjects:
        raise ValueError(f"synthetic dataset: test_subjects must be in 0..{num_subjects}, got {test_subjects}")
    if not 16 <= lo <= hi:
        raise ValueError(f"synthetic dataset: num_frames must be (min, max) with 16 <= min <= max, got {num_frames}")
    if noise < 0:
        raise ValueError(f"synthetic dataset: noise must be >= 0, got {noise}")

    rng = np.random.default_rng(seed)
    n_cls = len(CLASSES)
    n = num_subjects * n_cls * repeats
    subj = np.repeat(np.arange(num_subjects), n_cls * repeats)
    cls = np.tile(np.repeat(np.arange(n_cls), repeats), num_subjects)
    rep = np.tile(np.arange(repeats), num_subjects * n_cls)

    # subjects: body size and proportions, handedness, pace, vigour and resting posture
    scale = rng.uniform(0.85, 1.15, num_subjects)
    props = np.clip(rng.normal(1.0, 0.04, (num_subjects, len(GROUPS))), 0.9, 1.1)
    right_handed = rng.random(num_subjects) < 0.8
    pace = rng.normal(0.0, 0.12, num_subjects)
    vigour = rng.uniform(0.85, 1.15, num_subjects)[:, None] * rng.normal(1.0, 0.07, (num_subjects, n_cls))
    rest = rng.uniform((4, 5, -2, -5, 0), (12, 20, 3, 5, 6), (num_subjects, 5))  # arm out, elbow, lean, head, knee

    # samples
    size = scale[subj] * rng.normal(1.0, 0.01, n)
    dur = np.clip(DURATION[cls] + pace[subj] + rng.normal(0.0, 0.15, n), 0.0, 1.0)
    lengths = lo + np.round((hi - lo) * dur).astype(np.int64)
    lead = np.floor(rng.random(n) * 0.2 * lengths).astype(np.int64)
    tail = np.floor(rng.random(n) * 0.1 * lengths).astype(np.int64)  # a few still frames after the end
    warp = rng.uniform(-0.6, 0.6, n)
    dominant = rng.random(n) < 0.8
    mirrored = np.where(dominant, right_handed[subj], ~right_handed[subj])  # active side is the right
    amp = vigour[subj, cls] * rng.uniform(0.92, 1.08, n)
    yaw = rng.uniform(-45.0, 45.0, n) * DEG
    tilt = rng.uniform((-6.0, -3.0), (6.0, 3.0), (n, 2)) * DEG  # camera pitch and roll
    place = rng.uniform((-0.5, 0.6, 2.6), (0.5, 1.0, 3.6), (n, 3))  # x, camera height, depth
    sway = rng.uniform((0.15, 0.0, 0.2, 0.0), (0.4, 2 * np.pi, 0.5, 2 * np.pi), (n, 4))  # freq, phase x2

    # phase of the action at each frame: held at 0 during the lead-in, time-warped, held at 1 in the tail
    t_max = int(lengths.max())
    t = np.arange(t_max, dtype=np.float64)
    s = np.clip((t - lead[:, None]) / np.maximum(lengths - lead - tail - 1, 1)[:, None], 0.0, 1.0)
    u = s + warp[:, None] * np.sin(2 * np.pi * s) / (2 * np.pi)
    sec = t / FPS

    offsets = (DIRS * LENGTHS[:, None])[None] * (size[:, None] * props[subj][:, GROUP_OF])[..., None]
    pos = np.empty((n, t_max, NUM_JOINTS, 3))
    for k, action in enumerate(ACTIONS):
        idx = np.flatnonzero(cls == k)
        p = Pose(offsets[idx], t_max)
        re = rest[subj[idx]]
        for side in (1, -1):  # resting posture, then a little idle sway
            p.arm(side, elev=re[:, 0:1], plane=90, elbow=re[:, 1:2])
            p.leg(side, hip=re[:, 4:5] / 2, knee=re[:, 4:5])
        sw = sway[idx]
        p.spine(bend=re[:, 2:3] + 1.2 * np.sin(2 * np.pi * sw[:, 0:1] * sec + sw[:, 1:2]),
                side_bend=0.8 * np.sin(2 * np.pi * sw[:, 2:3] * sec + sw[:, 3:4]), head=re[:, 3:4])
        r, ri = _samplers(rng, subj[idx], num_subjects)
        anchor = action(u[idx], p, r, ri, amp[idx, None])
        q = forward_kinematics(p.w, offsets[idx])
        q[..., 1] -= q[:, :, FEET, 1].min(-1, keepdims=True)  # stand on the floor (y = 0)
        if anchor != "none":  # planted feet stay where they are; the body moves instead
            foot = q[:, :, ANKLES[anchor]][..., [0, 2]].mean(2)
            q[..., [0, 2]] -= (foot - foot[:, :1])[:, :, None]
        q[..., 2] += p.fwd[..., None]
        q[..., 1] += p.lift[..., None]
        pos[idx] = q

    pos[mirrored] = pos[mirrored][:, :, MIRROR] * (-1.0, 1.0, 1.0)
    # into the camera frame: facing the camera (body forward = -z) turned by yaw, then a tilted camera
    turn = rot_y(np.pi + yaw)
    cp, sp, cr, sr = np.cos(tilt[:, 0]), np.sin(tilt[:, 0]), np.cos(tilt[:, 1]), np.sin(tilt[:, 1])
    pitch = np.stack([np.ones(n), 0 * cp, 0 * cp, 0 * cp, cp, -sp, 0 * cp, sp, cp], -1).reshape(n, 3, 3)
    roll = np.stack([cr, -sr, 0 * cr, sr, cr, 0 * cr, 0 * cr, 0 * cr, np.ones(n)], -1).reshape(n, 3, 3)
    camera = pitch @ roll
    shift = np.stack([place[:, 0], -place[:, 1], place[:, 2]], -1)
    pos = np.einsum("nab,ntvb->ntva", camera, np.einsum("nab,ntvb->ntva", turn, pos) + shift[:, None, None])
    pos += rng.normal(0.0, noise, pos.shape) if noise > 0 else 0.0
    pos *= (t[None, :] < lengths[:, None])[..., None, None]  # zero padding after each sample's end

    names = np.array([f"S{s + 1:03d}_A{c + 1:02d}_R{q + 1:02d}" for s, c, q in zip(subj, cls, rep, strict=True)])
    split = np.where(subj >= num_subjects - test_subjects, "test", "train")
    return SkeletonDataset(
        x=pos.astype(np.float32)[:, None],
        lengths=lengths,
        y=cls,
        classes=list(CLASSES),
        split=split,
        layout=NTU25,
        names=names,
        source=f"synthetic(seed={seed})",
    )


FORMAT = DataFormat(
    name="synthetic", title="the procedural dataset", load=make_synthetic_dataset, layouts=(NTU25,), needs_path=False
)  # made, not read: never detected from a path

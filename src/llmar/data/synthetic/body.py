"""The procedural body of the built-in dataset: a rest skeleton on the NTU 25-joint tree, forward
kinematics from per-bone rotations, and :class:`Pose`, the sum of rotations an action writes into."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from llmar.data.layout import NTU25

NUM_JOINTS = NTU25.num_joints
JOINT = {name: i for i, name in enumerate(NTU25.joint_names)}
DEG = np.pi / 180.0

# Rest skeleton in the body frame (x = the body's left, y up, z forward) for a scale-1.0 adult, with
# about the bone lengths Kinect reports: joint -> (direction from its parent, length in m, proportion group).
# Right-side joints are the mirror images of these.
_REST: dict[str, tuple[tuple[float, float, float], float, str]] = {
    "spine_mid": ((0, 1, 0), 0.28, "torso"),
    "spine_shoulder": ((0, 1, 0), 0.22, "torso"),
    "neck": ((0, 1, 0.05), 0.07, "head"),
    "head": ((0, 1, 0.1), 0.13, "head"),
    "shoulder_left": ((1, -0.12, 0), 0.17, "shoulders"),
    "elbow_left": ((0, -1, 0), 0.27, "arms"),
    "wrist_left": ((0, -1, 0), 0.25, "arms"),
    "hand_left": ((0, -1, 0), 0.07, "hands"),
    "handtip_left": ((0, -1, 0), 0.06, "hands"),
    "thumb_left": ((-0.2, -0.6, 0.8), 0.05, "hands"),
    "hip_left": ((1, -0.35, 0), 0.09, "hips"),
    "knee_left": ((0, -1, 0), 0.42, "legs"),
    "ankle_left": ((0, -1, 0), 0.40, "legs"),
    "foot_left": ((0, -0.5, 1), 0.12, "feet"),
}
GROUPS = ("torso", "head", "shoulders", "arms", "hands", "hips", "legs", "feet")


def _rest_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit directions [V, 3], lengths [V] and proportion-group index [V] of every bone (root: zero)."""
    dirs, lens, grp = np.zeros((NUM_JOINTS, 3)), np.zeros(NUM_JOINTS), np.zeros(NUM_JOINTS, dtype=np.int64)
    for name, (d, length, group) in _REST.items():
        for side, sign in (("left", 1.0), ("right", -1.0)) if "left" in name else (("left", 1.0),):
            j = JOINT[name.replace("left", side)]
            v = np.array(d, dtype=np.float64) * (sign, 1.0, 1.0)
            dirs[j], lens[j], grp[j] = v / np.linalg.norm(v), length, GROUPS.index(group)
    return dirs, lens, grp


DIRS, LENGTHS, GROUP_OF = _rest_table()
_ORDER = np.argsort(NTU25.depth(), kind="stable")  # parents before children
MIRROR = np.array([JOINT[n.replace("left", "#").replace("right", "left").replace("#", "right")] for n in NTU25.joint_names])
FEET = [JOINT["ankle_left"], JOINT["foot_left"], JOINT["ankle_right"], JOINT["foot_right"]]
ANKLES = {"both": [JOINT["ankle_left"], JOINT["ankle_right"]], "a": [JOINT["ankle_left"]], "b": [JOINT["ankle_right"]]}


# -- small maths --------------------------------------------------------------------------------------
def ramp(u: np.ndarray, a, b) -> np.ndarray:
    """Smoothstep from 0 at ``a`` to 1 at ``b`` (broadcasts per-sample ``a``/``b`` of shape [n, 1])."""
    x = np.clip((u - a) / np.maximum(np.asarray(b) - a, 1e-6), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def keys(u: np.ndarray, times: list, values: list) -> np.ndarray:
    """Keyframe curve: ``values[k]`` at ``times[k]``, eased between keys, held outside them."""
    out = np.asarray(values[0], dtype=np.float64) + np.zeros_like(u)
    for k in range(1, len(times)):
        out = out + (np.asarray(values[k]) - values[k - 1]) * ramp(u, times[k - 1], times[k])
    return out


def window(u: np.ndarray, a, b) -> np.ndarray:
    """Linear phase 0..1 inside [a, b], clipped outside."""
    return np.clip((u - a) / np.maximum(np.asarray(b) - a, 1e-6), 0.0, 1.0)


def rotvec_to_matrix(w: np.ndarray) -> np.ndarray:
    """Rodrigues: rotation vectors [..., 3] -> matrices [..., 3, 3]."""
    theta = np.linalg.norm(w, axis=-1)
    k = w / np.where(theta > 1e-12, theta, 1.0)[..., None]
    c, s = np.cos(theta)[..., None, None], np.sin(theta)[..., None, None]
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    zero = np.zeros_like(kx)
    cross = np.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], -1).reshape(*k.shape, 3)
    return c * np.eye(3) + s * cross + (1.0 - c) * k[..., :, None] * k[..., None, :]


def rot_y(a: np.ndarray) -> np.ndarray:
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(*a.shape, 3, 3)


def forward_kinematics(w: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Joint positions [n, T, V, 3] from per-bone rotations ``w`` [n, T, V, 3] (rotation vectors, each in
    its parent bone's frame) and rest offsets [n, V, 3]. The root stays at the origin."""
    rot = rotvec_to_matrix(w)
    g = np.empty_like(rot)
    pos = np.zeros(w.shape)
    root = _ORDER[0]
    g[:, :, root] = rot[:, :, root]
    for j in _ORDER[1:]:
        p = NTU25.parents[j]
        g[:, :, j] = g[:, :, p] @ rot[:, :, j]
        pos[:, :, j] = pos[:, :, p] + np.einsum("ntab,nb->nta", g[:, :, j], offsets[:, j])
    return pos


def swing(angle, plane) -> np.ndarray:
    """Rotation vector [..., 3] that turns a hanging bone by ``angle`` degrees towards the horizontal
    direction ``plane`` (0 forward, 90 outwards to the left, 180 back)."""
    a, b = np.asarray(angle, dtype=np.float64) * DEG, np.asarray(plane, dtype=np.float64) * DEG
    a, b = np.broadcast_arrays(a, b)
    return np.stack([-a * np.cos(b), np.zeros_like(a), a * np.sin(b)], -1)


# -- poses ---------------------------------------------------------------------------------------------
class Pose:
    """Bone rotations of a group of samples, as rotation vectors added up from several contributions.

    Actions are written for the active side on the body's left (``side=+1``, the other side -1); samples
    whose active side is the right are mirrored afterwards. Angles are in degrees, arrays broadcast to
    [n, T] (per-sample parameters are [n, 1]).
    """

    def __init__(self, offsets: np.ndarray, t: int):
        self.offsets = offsets  # [n, V, 3] rest bones, for actions that need to reach a place
        n = len(offsets)
        self.w = np.zeros((n, t, NUM_JOINTS, 3))
        self.lift = np.zeros((n, t))  # extra height of the whole body above the ground (jump flight)
        self.fwd = np.zeros((n, t))  # travel along the body's forward axis (walking, a throwing step)

    def _add(self, j: int, side: int, x=0.0, y=0.0, z=0.0) -> None:
        # mirroring across the body's x axis flips the y and z components of a rotation vector
        self.w[..., j, 0] += x * DEG
        self.w[..., j, 1] += side * np.asarray(y) * DEG
        self.w[..., j, 2] += side * np.asarray(z) * DEG

    def _swing(self, j: int, side: int, angle, plane) -> None:
        w = swing(angle, plane) / DEG
        self._add(j, side, x=w[..., 0], z=w[..., 2])

    def arm(self, side: int, elev=0.0, plane=0.0, elbow=0.0, elbow_plane=0.0) -> None:
        """Raise the upper arm by ``elev`` towards ``plane``; bend the forearm by ``elbow`` towards
        ``elbow_plane`` in the upper arm's frame (0 = the ordinary forward elbow flexion)."""
        upper, fore = (JOINT["elbow_left"], JOINT["wrist_left"]) if side > 0 else (JOINT["elbow_right"], JOINT["wrist_right"])
        self._swing(upper, side, elev, plane)
        self._swing(fore, side, elbow, elbow_plane)

    def leg(self, side: int, hip=0.0, knee=0.0, ankle=0.0, abduct=0.0, flat: float = 1.0) -> None:
        """Hip flexion (thigh forward), knee flexion (shin back), ankle plantar flexion (toes down);
        ``flat`` keeps the foot level by undoing the thigh and shin pitch (0 = foot follows the shin)."""
        thigh, shin, foot = (13, 14, 15) if side > 0 else (17, 18, 19)
        self._add(thigh, side, x=-np.asarray(hip), z=abduct)
        self._add(shin, side, x=knee)
        self._add(foot, side, x=np.asarray(ankle) + flat * (np.asarray(hip) - knee))

    def spine(self, bend=0.0, twist=0.0, side_bend=0.0, upper=0.0, head=0.0) -> None:
        """Forward bend of the lower spine, twist (positive turns the left shoulder back), sideways
        bend, extra bend of the upper spine and of the head."""
        self._add(JOINT["spine_mid"], 1, x=bend, y=twist, z=side_bend)
        self._add(JOINT["spine_shoulder"], 1, x=upper)
        self._add(JOINT["head"], 1, x=head)


Sampler = Callable[[float, float], np.ndarray]

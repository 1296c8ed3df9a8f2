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

from collections.abc import Callable

import numpy as np

from llmar.data.dataset import SkeletonDataset
from llmar.data.formats import DataFormat
from llmar.data.layout import NTU25

CLASSES: tuple[str, ...] = (
    "wave", "clap", "punch", "kick", "jump", "squat",
    "bow", "walk", "sit down", "raise both arms", "stand up", "throw",
)
FPS = 30.0

_V = NTU25.num_joints
_J = {name: i for i, name in enumerate(NTU25.joint_names)}
_D = np.pi / 180.0

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
_GROUPS = ("torso", "head", "shoulders", "arms", "hands", "hips", "legs", "feet")


def _rest_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit directions [V, 3], lengths [V] and proportion-group index [V] of every bone (root: zero)."""
    dirs, lens, grp = np.zeros((_V, 3)), np.zeros(_V), np.zeros(_V, dtype=np.int64)
    for name, (d, length, group) in _REST.items():
        for side, sign in (("left", 1.0), ("right", -1.0)) if "left" in name else (("left", 1.0),):
            j = _J[name.replace("left", side)]
            v = np.array(d, dtype=np.float64) * (sign, 1.0, 1.0)
            dirs[j], lens[j], grp[j] = v / np.linalg.norm(v), length, _GROUPS.index(group)
    return dirs, lens, grp


_DIRS, _LENS, _GRP = _rest_table()
_ORDER = np.argsort(NTU25.depth(), kind="stable")  # parents before children
_MIRROR = np.array([_J[n.replace("left", "#").replace("right", "left").replace("#", "right")] for n in NTU25.joint_names])
_FEET = [_J["ankle_left"], _J["foot_left"], _J["ankle_right"], _J["foot_right"]]
_ANKLES = {"both": [_J["ankle_left"], _J["ankle_right"]], "a": [_J["ankle_left"]], "b": [_J["ankle_right"]]}


# -- small maths --------------------------------------------------------------------------------------
def _ramp(u: np.ndarray, a, b) -> np.ndarray:
    """Smoothstep from 0 at ``a`` to 1 at ``b`` (broadcasts per-sample ``a``/``b`` of shape [n, 1])."""
    x = np.clip((u - a) / np.maximum(np.asarray(b) - a, 1e-6), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _keys(u: np.ndarray, times: list, values: list) -> np.ndarray:
    """Keyframe curve: ``values[k]`` at ``times[k]``, eased between keys, held outside them."""
    out = np.asarray(values[0], dtype=np.float64) + np.zeros_like(u)
    for k in range(1, len(times)):
        out = out + (np.asarray(values[k]) - values[k - 1]) * _ramp(u, times[k - 1], times[k])
    return out


def _window(u: np.ndarray, a, b) -> np.ndarray:
    """Linear phase 0..1 inside [a, b], clipped outside."""
    return np.clip((u - a) / np.maximum(np.asarray(b) - a, 1e-6), 0.0, 1.0)


def _rotvec_to_matrix(w: np.ndarray) -> np.ndarray:
    """Rodrigues: rotation vectors [..., 3] -> matrices [..., 3, 3]."""
    theta = np.linalg.norm(w, axis=-1)
    k = w / np.where(theta > 1e-12, theta, 1.0)[..., None]
    c, s = np.cos(theta)[..., None, None], np.sin(theta)[..., None, None]
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    zero = np.zeros_like(kx)
    cross = np.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], -1).reshape(*k.shape, 3)
    return c * np.eye(3) + s * cross + (1.0 - c) * k[..., :, None] * k[..., None, :]


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(*a.shape, 3, 3)


def _forward_kinematics(w: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Joint positions [n, T, V, 3] from per-bone rotations ``w`` [n, T, V, 3] (rotation vectors, each in
    its parent bone's frame) and rest offsets [n, V, 3]. The root stays at the origin."""
    rot = _rotvec_to_matrix(w)
    g = np.empty_like(rot)
    pos = np.zeros(w.shape)
    root = _ORDER[0]
    g[:, :, root] = rot[:, :, root]
    for j in _ORDER[1:]:
        p = NTU25.parents[j]
        g[:, :, j] = g[:, :, p] @ rot[:, :, j]
        pos[:, :, j] = pos[:, :, p] + np.einsum("ntab,nb->nta", g[:, :, j], offsets[:, j])
    return pos


def _swing(angle, plane) -> np.ndarray:
    """Rotation vector [..., 3] that turns a hanging bone by ``angle`` degrees towards the horizontal
    direction ``plane`` (0 forward, 90 outwards to the left, 180 back)."""
    a, b = np.asarray(angle, dtype=np.float64) * _D, np.asarray(plane, dtype=np.float64) * _D
    a, b = np.broadcast_arrays(a, b)
    return np.stack([-a * np.cos(b), np.zeros_like(a), a * np.sin(b)], -1)


# -- poses ---------------------------------------------------------------------------------------------
class _Pose:
    """Bone rotations of a group of samples, as rotation vectors added up from several contributions.

    Actions are written for the active side on the body's left (``side=+1``, the other side -1); samples
    whose active side is the right are mirrored afterwards. Angles are in degrees, arrays broadcast to
    [n, T] (per-sample parameters are [n, 1]).
    """

    def __init__(self, offsets: np.ndarray, t: int):
        self.offsets = offsets  # [n, V, 3] rest bones, for actions that need to reach a place
        n = len(offsets)
        self.w = np.zeros((n, t, _V, 3))
        self.lift = np.zeros((n, t))  # extra height of the whole body above the ground (jump flight)
        self.fwd = np.zeros((n, t))  # travel along the body's forward axis (walking, a throwing step)

    def _add(self, j: int, side: int, x=0.0, y=0.0, z=0.0) -> None:
        # mirroring across the body's x axis flips the y and z components of a rotation vector
        self.w[..., j, 0] += x * _D
        self.w[..., j, 1] += side * np.asarray(y) * _D
        self.w[..., j, 2] += side * np.asarray(z) * _D

    def _swing(self, j: int, side: int, angle, plane) -> None:
        w = _swing(angle, plane) / _D
        self._add(j, side, x=w[..., 0], z=w[..., 2])

    def arm(self, side: int, elev=0.0, plane=0.0, elbow=0.0, elbow_plane=0.0) -> None:
        """Raise the upper arm by ``elev`` towards ``plane``; bend the forearm by ``elbow`` towards
        ``elbow_plane`` in the upper arm's frame (0 = the ordinary forward elbow flexion)."""
        upper, fore = (_J["elbow_left"], _J["wrist_left"]) if side > 0 else (_J["elbow_right"], _J["wrist_right"])
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
        self._add(_J["spine_mid"], 1, x=bend, y=twist, z=side_bend)
        self._add(_J["spine_shoulder"], 1, x=upper)
        self._add(_J["head"], 1, x=head)


Sampler = Callable[[float, float], np.ndarray]


# -- the actions: each fills a _Pose from the phase u [n, T] in [0, 1] and returns which feet stay planted
def _wave(u, p: _Pose, r: Sampler, ri: Sampler, amp) -> str:
    t0, t1 = r(0.0, 0.1), r(0.15, 0.3)
    t3 = r(0.8, 0.97)
    t2 = t3 - r(0.1, 0.2)
    up = _keys(u, [t0, t1, t2, t3], [0, 1, 1, 0])
    osc = np.sin(2 * np.pi * ri(2, 4) * _window(u, t1, t2))
    p.arm(1, elev=up * amp * r(95, 125), plane=r(60, 100), elbow=up * (r(45, 75) + r(18, 35) * osc), elbow_plane=90)
    return "both"


def _meeting_plane(p: _Pose, elev, plane, elbow, gap) -> np.ndarray:
    """Forearm plane (deg) at which the left hand, turning inwards from plane 0, first comes within
    ``gap`` m of the body's midline, for an upper arm raised by ``elev`` towards ``plane`` and an
    elbow bent by ``elbow`` (all [n, 1]). A 1-degree scan: the first crossing is the clap."""
    base, off = p.w[:, 0], p.offsets  # resting rotations (constant in time) and bones
    grid = -np.arange(0.0, 131.0)
    upper = _rotvec_to_matrix(base[:, _J["elbow_left"]] + _swing(elev, plane)[:, 0])
    fore = _rotvec_to_matrix(base[:, None, _J["wrist_left"]] + _swing(elbow, grid))  # [n, G, 3, 3]
    forearm = np.einsum("ngab,nb->nga", fore, off[:, 6] + off[:, 7])
    hand_x = off[:, None, 4, 0] + np.einsum("nab,ngb->nga", upper, off[:, None, 5] + forearm)[..., 0]
    first = np.argmax(hand_x < gap, axis=1)  # 0 when it never gets there: then the most inward plane
    first = np.where((hand_x < gap).any(1), first, len(grid) - 1)
    return grid[first][:, None]


def _clap(u, p, r, ri, amp) -> str:
    t0, t1 = r(0.0, 0.1), r(0.12, 0.25)
    t3 = r(0.8, 0.97)
    t2 = t3 - r(0.06, 0.12)
    up = _keys(u, [t0, t1, t2, t3], [0, 1, 1, 0])
    close = _ramp(0.5 - 0.5 * np.cos(2 * np.pi * ri(2, 5) * _window(u, t1, t2)), 0.0, 0.8)  # hands rest together briefly
    elev, plane, elbow = amp * r(50, 75), r(-5, 12), r(55, 80)
    open_, shut = r(-20, 0), _meeting_plane(p, elev, plane, elbow, gap=r(0.02, 0.035))
    for side in (1, -1):
        p.arm(side, elev=up * elev, plane=plane, elbow=up * elbow, elbow_plane=open_ + (shut - open_) * close)
    return "both"


def _punch(u, p, r, ri, amp) -> str:
    t0, t1 = r(0.0, 0.1), r(0.1, 0.2)
    t3 = r(0.85, 1.0)
    t2 = t3 - r(0.05, 0.12)
    guard = _keys(u, [t0, t1, t2, t3], [0, 1, 1, 0])
    k = ri(1, 3)
    s = _window(u, t1, t2) * k
    idx = np.minimum(np.floor(s), k - 1)
    strike = np.exp(-(((s - idx) - 0.45) / r(0.12, 0.2)) ** 2)
    alternate = ri(0, 1) * (k > 1)  # some boxers alternate arms
    on_a = (alternate == 0) | (idx % 2 == 0)
    hits = {1: strike * on_a, -1: strike * ~on_a}
    g_elev, g_elbow = r(25, 45), r(105, 130)
    for side, hit in hits.items():
        p.arm(side, elev=guard * g_elev + hit * (amp * r(80, 95) - g_elev), plane=20 - 25 * hit,
              elbow=guard * g_elbow - hit * (g_elbow - r(0, 15)), elbow_plane=-25)
    p.spine(twist=-(hits[1] - hits[-1]) * r(8, 18))
    for side in (1, -1):
        p.leg(side, hip=guard * 8, knee=guard * 15)
    return "both"


def _kick(u, p, r, ri, amp) -> str:
    t0 = r(0.05, 0.25)
    t1 = t0 + r(0.12, 0.2)
    t2 = t1 + r(0.08, 0.14)
    t3 = t2 + r(0.08, 0.14)
    t4 = np.minimum(t3 + r(0.12, 0.2), 1.0)
    ts = [t0, t1, t2, t3, t4]
    hip = amp * r(60, 85)
    p.leg(1, hip=_keys(u, ts, [0, 0.8 * hip, hip, 0.7 * hip, 0]), knee=_keys(u, ts, [0, r(80, 100), r(0, 15), r(70, 90), 0]),
          ankle=_keys(u, ts, [0, 0, r(20, 35), 0, 0]), flat=0.3)
    p.leg(-1, hip=_keys(u, ts, [0, 8, 8, 8, 0]), knee=_keys(u, ts, [0, 15, 12, 15, 0]))
    p.spine(bend=_keys(u, ts, [0, -5, r(-15, -5), -5, 0]))
    for side in (1, -1):
        p.arm(side, elev=_keys(u, ts, [0, r(20, 40), r(25, 45), r(20, 40), 0]), plane=60,
              elbow=_keys(u, ts, [0, r(40, 90), r(40, 90), r(40, 90), 0]))
    return "b"


def _jump(u, p, r, ri, amp) -> str:
    t0 = r(0.0, 0.15)
    t1 = t0 + r(0.15, 0.25)  # crouched
    t2 = t1 + r(0.06, 0.1)  # take-off
    t4 = t2 + r(0.14, 0.22)  # landing
    t5 = t4 + r(0.06, 0.12)  # landing crouch
    t6 = np.minimum(t5 + r(0.12, 0.2), 1.0)
    ts = [t0, t1, t2, t4, t5, t6]
    hip, knee = amp * r(40, 65), amp * r(65, 95)
    plantar = _keys(u, ts, [0, 0, 35, 25, 0, 0])
    for side in (1, -1):
        p.leg(side, hip=_keys(u, ts, [0, hip, 0, 0, 0.7 * hip, 0]), knee=_keys(u, ts, [0, knee, 0, 10, 0.7 * knee, 0]),
              ankle=plantar)
        p.arm(side, elev=_keys(u, ts, [0, r(30, 50), r(120, 160), r(100, 150), r(20, 40), 0]),
              plane=_keys(u, ts, [0, 180, 10, 20, 10, 0]), elbow=15)
    p.spine(bend=_keys(u, ts, [0, r(20, 35), 0, 0, r(10, 20), 0]))
    flight = _window(u, t2, t4)
    p.lift = amp * r(0.12, 0.3) * 4 * flight * (1 - flight)
    return "both"


def _squat(u, p, r, ri, amp) -> str:
    k = ri(1, 2)
    t0, t3 = r(0.0, 0.12), r(0.85, 1.0)
    c = _window(u, t0, t3) * k
    c = c - np.minimum(np.floor(c), k - 1)  # phase inside the current squat
    hold = r(0.1, 0.35)
    down = _keys(c, [0.0, 0.5 - hold / 2, 0.5 + hold / 2, 1.0], [0, 1, 1, 0])
    hip = amp * r(85, 115)
    p.leg(1, hip=down * hip, knee=down * (hip + r(15, 35)))
    p.leg(-1, hip=down * hip, knee=down * (hip + r(15, 35)))
    p.spine(bend=down * r(15, 35), head=-down * 10)
    arms_forward = ri(0, 1)  # balance with the arms out in front, or keep them low
    for side in (1, -1):
        p.arm(side, elev=down * (arms_forward * r(60, 90) + (1 - arms_forward) * r(15, 30)), plane=10,
              elbow=down * r(10, 60))
    return "both"


def _bow(u, p, r, ri, amp) -> str:
    t0 = r(0.05, 0.3)
    t1 = t0 + r(0.15, 0.3)
    t2 = t1 + r(0.05, 0.2)
    t3 = np.minimum(t2 + r(0.15, 0.3), 1.0)
    down = _keys(u, [t0, t1, t2, t3], [0, 1, 1, 0])
    bend = amp * r(35, 70)
    p.spine(bend=down * bend, upper=down * r(0, 12), head=down * r(5, 20))
    for side in (1, -1):  # arms hang: they turn forward against the torso
        p.arm(side, elev=down * bend * r(0.6, 0.95), plane=0)
        p.leg(side, hip=down * r(0, 10))
    return "both"


def _walk(u, p, r, ri, amp) -> str:
    t0, t3 = r(0.0, 0.08), r(0.92, 1.0)
    env = _keys(u, [t0, t0 + 0.12, t3 - 0.12, t3], [0, 1, 1, 0])
    cycles = r(1.0, 2.0)
    phase = 2 * np.pi * cycles * _window(u, t0, t3)
    hip, knee, arm = amp * r(14, 22), amp * r(35, 60), amp * r(15, 30)
    elbow = r(10, 35)
    for side, shift in ((1, 0.0), (-1, np.pi)):
        ph = phase + shift
        p.leg(side, hip=env * hip * np.sin(ph), knee=env * knee * np.maximum(np.cos(ph), 0) ** 2, flat=0.6)
        p.arm(side, elev=-env * arm * np.sin(ph), plane=0, elbow=env * elbow)
    p.spine(twist=env * r(3, 8) * np.sin(phase))
    # about two steps per gait cycle, each roughly twice the leg length times the sine of the hip swing
    distance = 2 * 2 * 0.85 * np.sin(hip * _D) * cycles
    p.fwd = distance * (_ramp(u, t0, t3) - 0.5)  # centred on the sample's place, to stay in view
    return "none"


def _sit_down(u, p, r, ri, amp) -> str:
    t0 = r(0.05, 0.25)
    t2 = t0 + r(0.4, 0.6)
    t1 = (t0 + t2) / 2
    ts = [t0, t1, t2, np.minimum(t2 + 0.1, 1.0)]
    hip, knee = r(80, 95), r(80, 100)  # a chair is a chair: vigour changes the lean, not the seat
    for side in (1, -1):
        p.leg(side, hip=_keys(u, ts, [0, 0.5 * hip, hip, hip]), knee=_keys(u, ts, [0, 0.5 * knee, knee, knee]))
        p.arm(side, elev=_keys(u, ts, [0, r(20, 45), r(15, 35), r(15, 35)]), plane=10,
              elbow=_keys(u, ts, [0, 30, r(40, 70), r(40, 70)]))
    p.spine(bend=_keys(u, ts, [0, amp * r(20, 35), r(5, 15), r(0, 10)]))
    return "both"


def _stand_up(u, p, r, ri, amp) -> str:
    t0 = r(0.05, 0.3)
    t1 = t0 + r(0.1, 0.2)  # leaning forward, weight over the feet
    t2 = t1 + r(0.25, 0.4)
    ts = [t0, t1, t2]
    hip, knee = r(80, 95), r(80, 100)  # a chair is a chair: vigour changes the lean, not the seat
    for side in (1, -1):
        p.leg(side, hip=_keys(u, ts, [hip, hip + 5, 0]), knee=_keys(u, ts, [knee, knee, 0]))
        p.arm(side, elev=_keys(u, ts, [r(15, 35), r(30, 60), 0]), plane=10, elbow=_keys(u, ts, [r(40, 70), 30, 10]))
    p.spine(bend=_keys(u, ts, [r(0, 10), amp * r(30, 45), 0]))
    return "both"


def _raise_both_arms(u, p, r, ri, amp) -> str:
    t0 = r(0.0, 0.15)
    t1 = t0 + r(0.2, 0.35)
    t2 = t1 + r(0.1, 0.3)
    t3 = np.minimum(t2 + r(0.15, 0.3), 1.0)
    up = _keys(u, [t0, t1, t2, t3], [0, 1, 1, r(0.0, 0.6)])
    elev, plane, elbow = amp * r(145, 175), r(10, 90), r(0, 15)
    for side in (1, -1):
        p.arm(side, elev=up * elev, plane=plane, elbow=up * elbow)
    return "both"


def _throw(u, p, r, ri, amp) -> str:
    t0 = r(0.05, 0.2)
    t1 = t0 + r(0.2, 0.3)  # wound up
    t2 = t1 + r(0.03, 0.1)
    t3 = t2 + r(0.06, 0.1)  # released
    t4 = np.minimum(t3 + r(0.2, 0.3), 1.0)
    ts = [t0, t1, t2, t3, t4]
    p.arm(1, elev=_keys(u, ts, [0, amp * r(140, 165), amp * r(140, 165), r(60, 90), 0]),
          plane=_keys(u, ts, [0, r(80, 120), r(80, 120), r(0, 20), 0]),
          elbow=_keys(u, ts, [0, r(80, 110), r(90, 120), r(0, 15), 0]), elbow_plane=_keys(u, ts, [0, 180, 180, 0, 0]))
    p.arm(-1, elev=_keys(u, ts, [0, r(30, 60), r(30, 60), r(10, 30), 0]), plane=_keys(u, ts, [0, 20, 20, 80, 0]), elbow=30)
    p.spine(twist=_keys(u, ts, [0, r(15, 30), r(15, 30), -r(15, 30), 0]), bend=_keys(u, ts, [0, -8, -8, r(10, 25), 0]))
    step = r(10, 25)  # the opposite leg steps forward, the throwing side stays planted
    p.leg(-1, hip=_keys(u, ts, [0, step, step, step, 0]), knee=_keys(u, ts, [0, 25, 10, 15, 0]))
    p.leg(1, hip=_keys(u, ts, [0, -8, -8, -step, 0]), knee=_keys(u, ts, [0, 5, 5, 10, 0]))
    return "a"


_ACTIONS = (_wave, _clap, _punch, _kick, _jump, _squat, _bow, _walk, _sit_down, _raise_both_arms, _stand_up, _throw)
# mean duration of each class as a fraction of the num_frames range (subject speed and chance move it)
_DURATION = np.array([0.45, 0.4, 0.4, 0.45, 0.45, 0.6, 0.5, 0.7, 0.55, 0.5, 0.55, 0.45])


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
    props = np.clip(rng.normal(1.0, 0.04, (num_subjects, len(_GROUPS))), 0.9, 1.1)
    right_handed = rng.random(num_subjects) < 0.8
    pace = rng.normal(0.0, 0.12, num_subjects)
    vigour = rng.uniform(0.85, 1.15, num_subjects)[:, None] * rng.normal(1.0, 0.07, (num_subjects, n_cls))
    rest = rng.uniform((4, 5, -2, -5, 0), (12, 20, 3, 5, 6), (num_subjects, 5))  # arm out, elbow, lean, head, knee

    # samples
    size = scale[subj] * rng.normal(1.0, 0.01, n)
    dur = np.clip(_DURATION[cls] + pace[subj] + rng.normal(0.0, 0.15, n), 0.0, 1.0)
    lengths = lo + np.round((hi - lo) * dur).astype(np.int64)
    lead = np.floor(rng.random(n) * 0.2 * lengths).astype(np.int64)
    tail = np.floor(rng.random(n) * 0.1 * lengths).astype(np.int64)  # a few still frames after the end
    warp = rng.uniform(-0.6, 0.6, n)
    dominant = rng.random(n) < 0.8
    mirrored = np.where(dominant, right_handed[subj], ~right_handed[subj])  # active side is the right
    amp = vigour[subj, cls] * rng.uniform(0.92, 1.08, n)
    yaw = rng.uniform(-45.0, 45.0, n) * _D
    tilt = rng.uniform((-6.0, -3.0), (6.0, 3.0), (n, 2)) * _D  # camera pitch and roll
    place = rng.uniform((-0.5, 0.6, 2.6), (0.5, 1.0, 3.6), (n, 3))  # x, camera height, depth
    sway = rng.uniform((0.15, 0.0, 0.2, 0.0), (0.4, 2 * np.pi, 0.5, 2 * np.pi), (n, 4))  # freq, phase x2

    # phase of the action at each frame: held at 0 during the lead-in, time-warped, held at 1 in the tail
    t_max = int(lengths.max())
    t = np.arange(t_max, dtype=np.float64)
    s = np.clip((t - lead[:, None]) / np.maximum(lengths - lead - tail - 1, 1)[:, None], 0.0, 1.0)
    u = s + warp[:, None] * np.sin(2 * np.pi * s) / (2 * np.pi)
    sec = t / FPS

    offsets = (_DIRS * _LENS[:, None])[None] * (size[:, None] * props[subj][:, _GRP])[..., None]
    pos = np.empty((n, t_max, _V, 3))
    for k, action in enumerate(_ACTIONS):
        idx = np.flatnonzero(cls == k)
        p = _Pose(offsets[idx], t_max)
        re = rest[subj[idx]]
        for side in (1, -1):  # resting posture, then a little idle sway
            p.arm(side, elev=re[:, 0:1], plane=90, elbow=re[:, 1:2])
            p.leg(side, hip=re[:, 4:5] / 2, knee=re[:, 4:5])
        sw = sway[idx]
        p.spine(bend=re[:, 2:3] + 1.2 * np.sin(2 * np.pi * sw[:, 0:1] * sec + sw[:, 1:2]),
                side_bend=0.8 * np.sin(2 * np.pi * sw[:, 2:3] * sec + sw[:, 3:4]), head=re[:, 3:4])
        r, ri = _samplers(rng, subj[idx], num_subjects)
        anchor = action(u[idx], p, r, ri, amp[idx, None])
        q = _forward_kinematics(p.w, offsets[idx])
        q[..., 1] -= q[:, :, _FEET, 1].min(-1, keepdims=True)  # stand on the floor (y = 0)
        if anchor != "none":  # planted feet stay where they are; the body moves instead
            foot = q[:, :, _ANKLES[anchor]][..., [0, 2]].mean(2)
            q[..., [0, 2]] -= (foot - foot[:, :1])[:, :, None]
        q[..., 2] += p.fwd[..., None]
        q[..., 1] += p.lift[..., None]
        pos[idx] = q

    pos[mirrored] = pos[mirrored][:, :, _MIRROR] * (-1.0, 1.0, 1.0)
    # into the camera frame: facing the camera (body forward = -z) turned by yaw, then a tilted camera
    turn = _rot_y(np.pi + yaw)
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

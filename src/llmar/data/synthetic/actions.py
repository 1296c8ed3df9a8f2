"""The built-in dataset's actions: each writes a :class:`~llmar.data.synthetic.body.Pose` from the phase
``u`` [n, T] in [0, 1] and per-sample draws, and returns which feet stay planted."""

from __future__ import annotations

import numpy as np

from llmar.data.synthetic.body import (
    DEG,
    JOINT,
    Pose,
    Sampler,
    keys,
    ramp,
    rotvec_to_matrix,
    swing,
    window,
)


def _wave(u, p: Pose, r: Sampler, ri: Sampler, amp) -> str:
    t0, t1 = r(0.0, 0.1), r(0.15, 0.3)
    t3 = r(0.8, 0.97)
    t2 = t3 - r(0.1, 0.2)
    up = keys(u, [t0, t1, t2, t3], [0, 1, 1, 0])
    osc = np.sin(2 * np.pi * ri(2, 4) * window(u, t1, t2))
    p.arm(1, elev=up * amp * r(95, 125), plane=r(60, 100), elbow=up * (r(45, 75) + r(18, 35) * osc), elbow_plane=90)
    return "both"


def _meeting_plane(p: Pose, elev, plane, elbow, gap) -> np.ndarray:
    """Forearm plane (deg) at which the left hand, turning inwards from plane 0, first comes within
    ``gap`` m of the body's midline, for an upper arm raised by ``elev`` towards ``plane`` and an
    elbow bent by ``elbow`` (all [n, 1]). A 1-degree scan: the first crossing is the clap."""
    base, off = p.w[:, 0], p.offsets  # resting rotations (constant in time) and bones
    grid = -np.arange(0.0, 131.0)
    upper = rotvec_to_matrix(base[:, JOINT["elbow_left"]] + swing(elev, plane)[:, 0])
    fore = rotvec_to_matrix(base[:, None, JOINT["wrist_left"]] + swing(elbow, grid))  # [n, G, 3, 3]
    forearm = np.einsum("ngab,nb->nga", fore, off[:, 6] + off[:, 7])
    hand_x = off[:, None, 4, 0] + np.einsum("nab,ngb->nga", upper, off[:, None, 5] + forearm)[..., 0]
    first = np.argmax(hand_x < gap, axis=1)  # 0 when it never gets there: then the most inward plane
    first = np.where((hand_x < gap).any(1), first, len(grid) - 1)
    return grid[first][:, None]


def _clap(u, p, r, ri, amp) -> str:
    t0, t1 = r(0.0, 0.1), r(0.12, 0.25)
    t3 = r(0.8, 0.97)
    t2 = t3 - r(0.06, 0.12)
    up = keys(u, [t0, t1, t2, t3], [0, 1, 1, 0])
    close = ramp(0.5 - 0.5 * np.cos(2 * np.pi * ri(2, 5) * window(u, t1, t2)), 0.0, 0.8)  # hands rest together briefly
    elev, plane, elbow = amp * r(50, 75), r(-5, 12), r(55, 80)
    open_, shut = r(-20, 0), _meeting_plane(p, elev, plane, elbow, gap=r(0.02, 0.035))
    for side in (1, -1):
        p.arm(side, elev=up * elev, plane=plane, elbow=up * elbow, elbow_plane=open_ + (shut - open_) * close)
    return "both"


def _punch(u, p, r, ri, amp) -> str:
    t0, t1 = r(0.0, 0.1), r(0.1, 0.2)
    t3 = r(0.85, 1.0)
    t2 = t3 - r(0.05, 0.12)
    guard = keys(u, [t0, t1, t2, t3], [0, 1, 1, 0])
    k = ri(1, 3)
    s = window(u, t1, t2) * k
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
    p.leg(1, hip=keys(u, ts, [0, 0.8 * hip, hip, 0.7 * hip, 0]), knee=keys(u, ts, [0, r(80, 100), r(0, 15), r(70, 90), 0]),
          ankle=keys(u, ts, [0, 0, r(20, 35), 0, 0]), flat=0.3)
    p.leg(-1, hip=keys(u, ts, [0, 8, 8, 8, 0]), knee=keys(u, ts, [0, 15, 12, 15, 0]))
    p.spine(bend=keys(u, ts, [0, -5, r(-15, -5), -5, 0]))
    for side in (1, -1):
        p.arm(side, elev=keys(u, ts, [0, r(20, 40), r(25, 45), r(20, 40), 0]), plane=60,
              elbow=keys(u, ts, [0, r(40, 90), r(40, 90), r(40, 90), 0]))
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
    plantar = keys(u, ts, [0, 0, 35, 25, 0, 0])
    for side in (1, -1):
        p.leg(side, hip=keys(u, ts, [0, hip, 0, 0, 0.7 * hip, 0]), knee=keys(u, ts, [0, knee, 0, 10, 0.7 * knee, 0]),
              ankle=plantar)
        p.arm(side, elev=keys(u, ts, [0, r(30, 50), r(120, 160), r(100, 150), r(20, 40), 0]),
              plane=keys(u, ts, [0, 180, 10, 20, 10, 0]), elbow=15)
    p.spine(bend=keys(u, ts, [0, r(20, 35), 0, 0, r(10, 20), 0]))
    flight = window(u, t2, t4)
    p.lift = amp * r(0.12, 0.3) * 4 * flight * (1 - flight)
    return "both"


def _squat(u, p, r, ri, amp) -> str:
    k = ri(1, 2)
    t0, t3 = r(0.0, 0.12), r(0.85, 1.0)
    c = window(u, t0, t3) * k
    c = c - np.minimum(np.floor(c), k - 1)  # phase inside the current squat
    hold = r(0.1, 0.35)
    down = keys(c, [0.0, 0.5 - hold / 2, 0.5 + hold / 2, 1.0], [0, 1, 1, 0])
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
    down = keys(u, [t0, t1, t2, t3], [0, 1, 1, 0])
    bend = amp * r(35, 70)
    p.spine(bend=down * bend, upper=down * r(0, 12), head=down * r(5, 20))
    for side in (1, -1):  # arms hang: they turn forward against the torso
        p.arm(side, elev=down * bend * r(0.6, 0.95), plane=0)
        p.leg(side, hip=down * r(0, 10))
    return "both"


def _walk(u, p, r, ri, amp) -> str:
    t0, t3 = r(0.0, 0.08), r(0.92, 1.0)
    env = keys(u, [t0, t0 + 0.12, t3 - 0.12, t3], [0, 1, 1, 0])
    cycles = r(1.0, 2.0)
    phase = 2 * np.pi * cycles * window(u, t0, t3)
    hip, knee, arm = amp * r(14, 22), amp * r(35, 60), amp * r(15, 30)
    elbow = r(10, 35)
    for side, shift in ((1, 0.0), (-1, np.pi)):
        ph = phase + shift
        p.leg(side, hip=env * hip * np.sin(ph), knee=env * knee * np.maximum(np.cos(ph), 0) ** 2, flat=0.6)
        p.arm(side, elev=-env * arm * np.sin(ph), plane=0, elbow=env * elbow)
    p.spine(twist=env * r(3, 8) * np.sin(phase))
    # about two steps per gait cycle, each roughly twice the leg length times the sine of the hip swing
    distance = 2 * 2 * 0.85 * np.sin(hip * DEG) * cycles
    p.fwd = distance * (ramp(u, t0, t3) - 0.5)  # centred on the sample's place, to stay in view
    return "none"


def _sit_down(u, p, r, ri, amp) -> str:
    t0 = r(0.05, 0.25)
    t2 = t0 + r(0.4, 0.6)
    t1 = (t0 + t2) / 2
    ts = [t0, t1, t2, np.minimum(t2 + 0.1, 1.0)]
    hip, knee = r(80, 95), r(80, 100)  # a chair is a chair: vigour changes the lean, not the seat
    for side in (1, -1):
        p.leg(side, hip=keys(u, ts, [0, 0.5 * hip, hip, hip]), knee=keys(u, ts, [0, 0.5 * knee, knee, knee]))
        p.arm(side, elev=keys(u, ts, [0, r(20, 45), r(15, 35), r(15, 35)]), plane=10,
              elbow=keys(u, ts, [0, 30, r(40, 70), r(40, 70)]))
    p.spine(bend=keys(u, ts, [0, amp * r(20, 35), r(5, 15), r(0, 10)]))
    return "both"


def _stand_up(u, p, r, ri, amp) -> str:
    t0 = r(0.05, 0.3)
    t1 = t0 + r(0.1, 0.2)  # leaning forward, weight over the feet
    t2 = t1 + r(0.25, 0.4)
    ts = [t0, t1, t2]
    hip, knee = r(80, 95), r(80, 100)  # a chair is a chair: vigour changes the lean, not the seat
    for side in (1, -1):
        p.leg(side, hip=keys(u, ts, [hip, hip + 5, 0]), knee=keys(u, ts, [knee, knee, 0]))
        p.arm(side, elev=keys(u, ts, [r(15, 35), r(30, 60), 0]), plane=10, elbow=keys(u, ts, [r(40, 70), 30, 10]))
    p.spine(bend=keys(u, ts, [r(0, 10), amp * r(30, 45), 0]))
    return "both"


def _raise_both_arms(u, p, r, ri, amp) -> str:
    t0 = r(0.0, 0.15)
    t1 = t0 + r(0.2, 0.35)
    t2 = t1 + r(0.1, 0.3)
    t3 = np.minimum(t2 + r(0.15, 0.3), 1.0)
    up = keys(u, [t0, t1, t2, t3], [0, 1, 1, r(0.0, 0.6)])
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
    p.arm(1, elev=keys(u, ts, [0, amp * r(140, 165), amp * r(140, 165), r(60, 90), 0]),
          plane=keys(u, ts, [0, r(80, 120), r(80, 120), r(0, 20), 0]),
          elbow=keys(u, ts, [0, r(80, 110), r(90, 120), r(0, 15), 0]), elbow_plane=keys(u, ts, [0, 180, 180, 0, 0]))
    p.arm(-1, elev=keys(u, ts, [0, r(30, 60), r(30, 60), r(10, 30), 0]), plane=keys(u, ts, [0, 20, 20, 80, 0]), elbow=30)
    p.spine(twist=keys(u, ts, [0, r(15, 30), r(15, 30), -r(15, 30), 0]), bend=keys(u, ts, [0, -8, -8, r(10, 25), 0]))
    step = r(10, 25)  # the opposite leg steps forward, the throwing side stays planted
    p.leg(-1, hip=keys(u, ts, [0, step, step, step, 0]), knee=keys(u, ts, [0, 25, 10, 15, 0]))
    p.leg(1, hip=keys(u, ts, [0, -8, -8, -step, 0]), knee=keys(u, ts, [0, 5, 5, 10, 0]))
    return "a"


ACTIONS = (_wave, _clap, _punch, _kick, _jump, _squat, _bow, _walk, _sit_down, _raise_both_arms, _stand_up, _throw)
# mean duration of each class as a fraction of the num_frames range (subject speed and chance move it)
DURATION = np.array([0.45, 0.4, 0.4, 0.45, 0.45, 0.6, 0.5, 0.7, 0.55, 0.5, 0.55, 0.45])

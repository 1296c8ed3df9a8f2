"""Joint layouts: the standard skeletons, layouts by name, and the one guess of a layout from a joint count.

:class:`JointLayout` (joint names plus the kinematic tree) is defined in :mod:`llmar.data.joint_layout`
and importable from here.
"""

from __future__ import annotations

import re

from llmar.data.joint_layout import JointLayout

NTU25 = JointLayout(
    name="ntu25",
    joint_names=(
        "spine_base", "spine_mid", "neck", "head",
        "shoulder_left", "elbow_left", "wrist_left", "hand_left",
        "shoulder_right", "elbow_right", "wrist_right", "hand_right",
        "hip_left", "knee_left", "ankle_left", "foot_left",
        "hip_right", "knee_right", "ankle_right", "foot_right",
        "spine_shoulder", "handtip_left", "thumb_left", "handtip_right", "thumb_right",
    ),
    parents=(-1, 0, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 1, 7, 7, 11, 11),
    center=1,
    hips=(12, 16),
    shoulders=(4, 8),
    spine=(0, 20),
)

KINECT20 = JointLayout(
    name="kinect20",
    joint_names=(
        "hip_center", "spine", "shoulder_center", "head",
        "shoulder_left", "elbow_left", "wrist_left", "hand_left",
        "shoulder_right", "elbow_right", "wrist_right", "hand_right",
        "hip_left", "knee_left", "ankle_left", "foot_left",
        "hip_right", "knee_right", "ankle_right", "foot_right",
    ),
    parents=(-1, 0, 1, 2, 2, 4, 5, 6, 2, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18),
    center=1,
    hips=(12, 16),
    shoulders=(4, 8),
    spine=(0, 2),
)

# Florence 3D Actions (Kinect v1 through OpenNI, 15 joints); rooted at the spine, hips hang from it.
FLORENCE15 = JointLayout(
    name="florence15",
    joint_names=(
        "head", "neck", "spine",
        "shoulder_left", "elbow_left", "wrist_left",
        "shoulder_right", "elbow_right", "wrist_right",
        "hip_left", "knee_left", "ankle_left",
        "hip_right", "knee_right", "ankle_right",
    ),
    parents=(1, 2, -1, 1, 3, 4, 1, 6, 7, 2, 9, 10, 2, 12, 13),
    center=2,
    hips=(9, 12),
    shoulders=(3, 6),
    spine=(2, 1),
)

# 2D pose estimators. The limb walk of ``body_parts`` stops at a joint with two children, so each
# shoulder and hip hangs alone from the trunk (nose, neck or mid-hip), never from another limb's joint:
# that is what gives trunk + 2 arms + 2 legs. COCO-17 and MediaPipe have no neck or mid-hip; the nose
# stands in for the neck there (as the neck carries hips and shoulders in OpenPose COCO-18).

# COCO keypoints (MMPose, RTMPose/rtmlib, Ultralytics YOLO-pose, PYSKL's HRNet 2D annotations)
COCO17 = JointLayout(
    name="coco17",
    joint_names=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 0, 0, 11, 12, 13, 14),
    center=0,
    hips=(11, 12),
    shoulders=(5, 6),
)

# OpenPose BODY_25, rooted at the mid-hip; toes and heel hang from the ankle so the foot ends the leg
OPENPOSE_BODY25 = JointLayout(
    name="openpose25",
    joint_names=(
        "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
        "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
        "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
    ),
    parents=(1, 8, 1, 2, 3, 1, 5, 6, -1, 8, 9, 10, 8, 12, 13, 0, 0, 15, 16, 14, 14, 14, 11, 11, 11),
    center=8,
    hips=(12, 9),
    shoulders=(5, 2),
    spine=(8, 1),
)

# OpenPose COCO-18 (the COCO keypoints plus a neck, in OpenPose's order), rooted at the neck
OPENPOSE_COCO18 = JointLayout(
    name="openpose18",
    joint_names=(
        "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
        "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    ),
    parents=(1, -1, 1, 2, 3, 1, 5, 6, 1, 8, 9, 1, 11, 12, 0, 0, 14, 15),
    center=1,
    hips=(11, 8),
    shoulders=(5, 2),
)

# MediaPipe Pose (BlazePose) 33 landmarks; fingers end the arm at the wrist, heel and toe the leg
MEDIAPIPE33 = JointLayout(
    name="mediapipe33",
    joint_names=(
        "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
        "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        "left_heel", "right_heel", "left_foot_index", "right_foot_index",
    ),
    parents=(
        -1, 2, 0, 2, 5, 0, 5, 3, 6, 0, 0,
        0, 0, 11, 12, 13, 14, 15, 16, 15, 16, 15, 16,
        0, 0, 23, 24, 25, 26, 27, 28, 27, 28,
    ),
    center=0,
    hips=(23, 24),
    shoulders=(11, 12),
)

# Toyota Smarthome skeletons: LCR-Net++'s 13 joints in its output order (dairui01/Toyota_Smarthome
# Tools/Pose_Visualization/json_to_npz.py). No neck or pelvis: rooted at the head, which carries the
# shoulders and hips (as the nose does in COCO-17), so each limb is a chain of three joints.
TOYOTA13 = JointLayout(
    name="toyota13",
    joint_names=(
        "right_ankle", "left_ankle", "right_knee", "left_knee", "right_hip", "left_hip",
        "right_wrist", "left_wrist", "right_elbow", "left_elbow", "right_shoulder", "left_shoulder", "head",
    ),
    parents=(2, 3, 4, 5, 12, 12, 8, 9, 10, 11, 12, 12, -1),
    center=12,
    hips=(5, 4),
    shoulders=(11, 10),
)

LAYOUTS: dict[str, JointLayout] = {
    layout.name: layout
    for layout in (
        NTU25, KINECT20, FLORENCE15, COCO17, OPENPOSE_BODY25, OPENPOSE_COCO18, MEDIAPIPE33, TOYOTA13,
    )
}


def register_layout(layout: JointLayout) -> JointLayout:
    LAYOUTS[layout.name] = layout
    return layout


def get_layout(name: str) -> JointLayout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown joint layout {name!r}; known: {sorted(LAYOUTS)}") from None


# Standard joint names a generic layout recognises (case, separators and word order do not matter:
# "hip_left", "LeftHip", "l_hip" and "left-hip" all name the left hip). Sides: left/l, right/r.
CENTRE_NAMES = ("pelvis", "hip center", "hip centre", "mid hip", "spine base", "root", "hips", "hip")
UPPER_SPINE_NAMES = ("neck", "spine shoulder", "shoulder center", "shoulder centre", "thorax", "upper spine",
                     "spine top", "chest", "mid shoulder")
SIDE_WORDS = {"left": "left", "l": "left", "right": "right", "r": "right"}


def _words(name: str) -> list[str]:
    """'LeftHip' / 'hip_left' / 'l-hip' -> ['left', 'hip'] / ['hip', 'left'] / ['l', 'hip']."""
    spaced = re.sub(r"([A-Z])([A-Z][a-z])", r"\1 \2", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name)))
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def side_and_part(name: str) -> tuple[str | None, str]:
    words = _words(name)
    side = next((SIDE_WORDS[w] for w in words if w in SIDE_WORDS), None)
    return side, " ".join(w for w in words if w not in SIDE_WORDS)


def infer_landmarks(joint_names: list[str]) -> dict:
    """centre, spine (lower, upper), hips and shoulders (left, right) joint indices from standard joint
    names; a key is missing when the names do not give it (the layout then centres on its root)."""
    parsed = [side_and_part(n) for n in joint_names]
    found: dict = {}
    for key, part in (("hips", "hip"), ("shoulders", "shoulder")):
        left = [i for i, (side, p) in enumerate(parsed) if side == "left" and p == part]
        right = [i for i, (side, p) in enumerate(parsed) if side == "right" and p == part]
        if left and right:
            found[key] = (left[0], right[0])
    unsided = {p: i for i, (side, p) in reversed(list(enumerate(parsed))) if side is None}
    centre = next((unsided[n] for n in CENTRE_NAMES if n in unsided), None)
    upper = next((unsided[n] for n in UPPER_SPINE_NAMES if n in unsided), None)
    if centre is not None:
        found["center"] = centre
    if centre is not None and upper is not None and centre != upper:
        found["spine"] = (centre, upper)
    return found


def generic_layout(num_joints: int, parents: list[int] | None = None, joint_names: list[str] | None = None) -> JointLayout:
    """A layout for anyone's skeleton. Without a tree, joints form a chain from joint 0 (a star
    would also do; a chain keeps graph convolutions local). Standard joint names (``infer_landmarks``)
    give the centre, spine, hips and shoulders that centring and view alignment use."""
    if num_joints < 1:
        raise ValueError(f"a skeleton needs at least one joint, got {num_joints}")
    if parents is None:
        parents = [-1] + list(range(num_joints - 1))
    names_given = joint_names is not None
    if joint_names is None:
        joint_names = [f"joint_{i}" for i in range(num_joints)]
    root = list(parents).index(-1) if -1 in list(parents) else 0
    marks = infer_landmarks(list(joint_names)) if names_given else {}
    return JointLayout(
        name=f"generic{num_joints}", joint_names=tuple(str(n) for n in joint_names),
        parents=tuple(int(p) for p in parents), center=marks.get("center", root), hips=marks.get("hips"),
        shoulders=marks.get("shoulders"), spine=marks.get("spine"),
    )


# What a bare joint count stands for, first match first: 25 joints is NTU RGB+D (the paper's data), not
# OpenPose BODY_25, whose output names itself by its file format.
BY_JOINT_COUNT = (NTU25, KINECT20, FLORENCE15, COCO17, OPENPOSE_COCO18, MEDIAPIPE33, TOYOTA13)
# Kinect skeletons are 3D by nature; a 2D skeleton with their joint count is someone else's tree, so
# when the coordinate count is known these match only 3D points.
DEPTH_SENSOR_LAYOUTS = (NTU25, KINECT20, FLORENCE15)


def layout_by_joint_count(
    num_joints: int, among: tuple[JointLayout, ...] = BY_JOINT_COUNT, coords: int | None = None
) -> JointLayout:
    """The first layout of ``among`` with ``num_joints`` joints, else a generic chain of that many.

    A format module passes the layouts its files come in (its entry's ``layouts``); the default is every
    standard layout, for arrays that say nothing of their skeleton. With ``coords``, the depth-sensor
    layouts (NTU, Kinect v1, Florence) match only 3D points.
    """
    for layout in among:
        if layout.num_joints != num_joints:
            continue
        if coords is not None and coords != 3 and layout in DEPTH_SENSOR_LAYOUTS:
            continue
        return layout
    return generic_layout(num_joints)

"""One skeleton layout's joints read as another's, matched by name: a model trained on one dataset reads the
clips of another whose joints it can name (Kinect v1 files in another order, NTU's 25 joints onto Kinect v1's
20, ``neck`` for ``shoulder_center``).

Names match as :func:`llmar.data.layout.infer_landmarks` reads them (case, separators, word order and l/r for
left/right do not matter); the joints a sensor names differently but places alike are one joint here
(:data:`SAME_JOINT`). A joint of the target layout that no source joint matches is an error that names it.
"""

from __future__ import annotations

import numpy as np

from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.joint_layout import JointLayout
from llmar.data.layout import side_and_part

# Names of one point of the body across sensors and toolkits, the most specific first: a target joint takes
# the source joint of its own name, else of the first name here that the source has.
SAME_JOINT = (
    ("hip center", "spine base", "pelvis", "mid hip", "hip centre", "root"),
    ("shoulder center", "spine shoulder", "neck", "shoulder centre", "thorax", "mid shoulder"),
    ("spine", "spine mid", "mid spine"),
)


def joint_sources(source: JointLayout, target: JointLayout) -> np.ndarray:
    """For each joint of ``target``, the index of the ``source`` joint of that name (or of an alias in
    :data:`SAME_JOINT`). Raises ``DataError`` naming every target joint the source lacks."""
    parsed = {side_and_part(name): i for i, name in reversed(list(enumerate(source.joint_names)))}
    picked, missing = [], []
    for name in target.joint_names:
        side, part = side_and_part(name)
        group = next((g for g in SAME_JOINT if part in g), (part,))
        found = next((parsed[(side, p)] for p in (part, *group) if (side, p) in parsed), None)
        if found is None:
            missing.append(name)
        picked.append(found)
    if missing:
        raise DataError(f"joints of layout {source.name!r} cannot be read as layout {target.name!r}: no joint "
                        f"matches {', '.join(missing)} (matched by name; {source.name!r} has "
                        f"{', '.join(source.joint_names)})")
    return np.asarray(picked, dtype=np.int64)


def same_joints(a: JointLayout, b: JointLayout) -> bool:
    return tuple(a.joint_names) == tuple(b.joint_names)


def to_layout(ds: SkeletonDataset, target: JointLayout) -> SkeletonDataset:
    """``ds`` with its joints picked and ordered as ``target``'s (``ds`` itself when they already are)."""
    if same_joints(ds.layout, target):
        return ds
    picked = joint_sources(ds.layout, target)
    return SkeletonDataset(x=np.ascontiguousarray(np.asarray(ds.x)[..., picked, :]), lengths=ds.lengths, y=ds.y,
                           classes=ds.classes, split=ds.split, layout=target, names=ds.names,
                           source=f"{ds.source} (joints read as {target.name})")


def skeleton_to_layout(skeleton: np.ndarray, source: JointLayout, target: JointLayout) -> np.ndarray:
    """A [..., V, C] array of ``source``'s joints as ``target``'s."""
    if same_joints(source, target):
        return skeleton
    return np.asarray(skeleton)[..., joint_sources(source, target), :]


__all__ = ["SAME_JOINT", "joint_sources", "same_joints", "to_layout", "skeleton_to_layout"]

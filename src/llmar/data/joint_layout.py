"""The joint-layout type: joint names plus the kinematic tree (parent of each joint, -1 for the root).

The standard layouts, the registry of layouts by name and the guess by joint count are in
:mod:`llmar.data.layout`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class JointLayout:
    """A skeleton's joints and tree.

    ``center`` is the joint used to centre sequences (the spine), ``hips``/``shoulders`` are the
    (left, right) pairs used for view alignment, or None when the layout has no such joints.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    center: int = 0
    hips: tuple[int, int] | None = None
    shoulders: tuple[int, int] | None = None
    spine: tuple[int, int] | None = None  # (lower, upper) joint used to make the spine vertical
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if len(self.joint_names) != len(self.parents):
            raise ValueError(
                f"layout {self.name!r}: {len(self.joint_names)} joint names but {len(self.parents)} parents"
            )
        roots = [i for i, p in enumerate(self.parents) if p < 0]
        if len(roots) != 1:
            raise ValueError(f"layout {self.name!r}: expected exactly one root (parent -1), found {roots}")
        for i, p in enumerate(self.parents):
            if p >= len(self.parents):
                raise ValueError(f"layout {self.name!r}: joint {i} has parent {p} out of range")
        # every joint must reach the root without cycles
        for i in range(len(self.parents)):
            seen, j = set(), i
            while j >= 0:
                if j in seen:
                    raise ValueError(f"layout {self.name!r}: cycle in parents through joint {j}")
                seen.add(j)
                j = self.parents[j]

    @property
    def num_joints(self) -> int:
        return len(self.parents)

    @property
    def root(self) -> int:
        return self.parents.index(-1)

    @property
    def bones(self) -> list[tuple[int, int]]:
        """(child, parent) pairs, one per non-root joint."""
        return [(i, p) for i, p in enumerate(self.parents) if p >= 0]

    def adjacency(self, self_loops: bool = True) -> np.ndarray:
        """Symmetric [V, V] adjacency of the tree."""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        for c, p in self.bones:
            a[c, p] = a[p, c] = 1.0
        if self_loops:
            a += np.eye(self.num_joints, dtype=np.float32)
        return a

    def depth(self) -> np.ndarray:
        """Distance of each joint from the root, in bones."""
        d = np.zeros(self.num_joints, dtype=np.int64)
        for i in range(self.num_joints):
            j = i
            while self.parents[j] >= 0:
                d[i] += 1
                j = self.parents[j]
        return d

    def body_parts(self, min_limb: int = 3) -> list[list[int]]:
        """Joint groups derived from the tree: the trunk (root, spine, head) first, then each limb.

        A limb is the chain of single-child joints that ends in a leaf, walked up from the leaf until a
        joint that branches; a joint whose children are all leaves (a hand with finger tips) counts as
        part of its chain. Chains of at least ``min_limb`` joints are limbs (arms, legs); shorter ones
        (a head on a neck) stay with the trunk. A layout with fewer than two limbs (a bare chain) is
        one part.
        """
        children: list[list[int]] = [[] for _ in self.parents]
        for c, p in self.bones:
            children[p].append(c)

        def is_end(j: int) -> bool:  # a leaf, or a joint with two or more children that are all leaves
            return not children[j] or (len(children[j]) >= 2 and all(not children[c] for c in children[j]))

        limbs = []
        for j in range(self.num_joints):
            if not is_end(j) or (self.parents[j] >= 0 and is_end(self.parents[j])):
                continue  # not the top of an end group (finger tips belong to their hand)
            chain = [j, *children[j]]
            k = self.parents[j]
            while k >= 0 and len(children[k]) == 1 and self.parents[k] >= 0:
                chain.append(k)
                k = self.parents[k]
            if len(chain) - len(children[j]) >= min_limb:
                limbs.append(sorted(chain))
        if len(limbs) < 2:
            return [list(range(self.num_joints))]
        in_limb = {j for limb in limbs for j in limb}
        trunk = [j for j in range(self.num_joints) if j not in in_limb]
        return ([trunk] if trunk else []) + sorted(limbs)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "joint_names": list(self.joint_names),
            "parents": list(self.parents),
            "center": self.center,
            "hips": list(self.hips) if self.hips else None,
            "shoulders": list(self.shoulders) if self.shoulders else None,
            "spine": list(self.spine) if self.spine else None,
        }

    @classmethod
    def from_dict(cls, d: dict) -> JointLayout:
        def pair(v):
            return tuple(v) if v is not None else None

        return cls(
            name=d["name"],
            joint_names=tuple(d["joint_names"]),
            parents=tuple(int(p) for p in d["parents"]),
            center=int(d.get("center", 0)),
            hips=pair(d.get("hips")),
            shoulders=pair(d.get("shoulders")),
            spine=pair(d.get("spine")),
        )

"""What the stage-1 encoder reads: the joints, and optionally their bones and motion.

The field's skeleton networks gain from bone vectors (a joint minus its parent) and motion (a frame
minus the previous one) besides the raw joints (2s-AGCN, CTR-GCN and EfficientGCN's input branches).
``projection.input_features`` stacks them on the channel axis before the encoder; the decoder still
reconstructs the joints, so the VQ-VAE's target does not change. Bones come from the layout's tree, so
any skeleton gets them.
"""

from __future__ import annotations

import torch

from llmar.data.layout import JointLayout

INPUT_FEATURES = ("joint", "bone", "motion")


def check_input_features(features: list[str]) -> None:
    unknown = [f for f in features if f not in INPUT_FEATURES]
    if not features or unknown or len(set(features)) != len(features):
        raise ValueError(f"projection.input_features must be distinct names from {list(INPUT_FEATURES)}, got {features!r}")


def bones(x: torch.Tensor, layout: JointLayout) -> torch.Tensor:
    """x [..., V, C] -> each joint minus its parent (the root keeps zeros)."""
    parents = torch.tensor([max(p, 0) for p in layout.parents], device=x.device)
    out = x - x[..., parents, :]
    out[..., layout.root, :] = 0
    return out


def motion(x: torch.Tensor) -> torch.Tensor:
    """x [N, T, V, C] -> frame t+1 minus frame t; the last frame has no successor and keeps zeros."""
    out = torch.zeros_like(x)
    out[:, :-1] = x[:, 1:] - x[:, :-1]
    return out


def stack_input_features(x: torch.Tensor, layout: JointLayout, features: list[str]) -> torch.Tensor:
    """x [N, T, V, C] -> [N, T, V, C * len(features)], in the order named."""
    if list(features) == ["joint"]:
        return x
    parts = {"joint": lambda: x, "bone": lambda: bones(x, layout), "motion": lambda: motion(x)}
    return torch.cat([parts[f]() for f in features], dim=-1)


__all__ = ["INPUT_FEATURES", "bones", "check_input_features", "motion", "stack_input_features"]

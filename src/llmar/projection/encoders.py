"""Stage-1 encoders (one per way of cutting a skeleton into tokens), their registry, and the decoder.

Every encoder maps one body's clip x [N, T, V, C] to z [N, T' * P, D]: ``T' = T / temporal_downsample``
time steps of ``P = tokens_per_step`` tokens each, time-major. ``projection.encoder`` picks the network
from :data:`ENCODERS` (``conv``: a light graph convolution then temporal convolutions, defined here;
``gcn``: the CTR-GCN layers the baseline uses too, :mod:`llmar.projection.graph_encoder`) and
``projection.part_tokens`` the cut:

- off: one token per time step for the whole body (the paper's formulation);
- on: one token per body part per time step, the parts derived from the layout's tree
  (:meth:`JointLayout.body_parts`: trunk, each arm, each leg), so a small arm gesture gets words of
  its own instead of being averaged into the whole body's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from llmar.config import ProjectionConfig
from llmar.data.layout import JointLayout
from llmar.projection.graph_encoder import GraphEncoder

JOINT_CHANNELS = 16


class GraphConv(nn.Module):
    """x [N, C, T, V] -> [N, C_out, T, V]: features mixed along the skeleton's normalised adjacency."""

    def __init__(self, in_ch: int, out_ch: int, layout: JointLayout):
        super().__init__()
        a = torch.tensor(layout.adjacency(self_loops=True))
        d = a.sum(1).rsqrt()
        self.register_buffer("adjacency", d[:, None] * a * d[None, :], persistent=False)
        self.linear = nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nctv,vw->nctw", self.linear(x), self.adjacency)


class ResBlock1d(nn.Module):
    def __init__(self, ch: int, dilation: int = 1):
        super().__init__()
        self.net = nn.Sequential(
            nn.GELU(), nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation), nn.GELU(), nn.Conv1d(ch, ch, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def _num_halvings(factor: int) -> int:
    n = int(round(math.log2(factor)))
    if 2**n != factor:
        raise ValueError(f"temporal_downsample must be a power of two, got {factor}")
    return n


def _spatial(layout: JointLayout, in_ch: int) -> nn.Sequential:
    return nn.Sequential(GraphConv(in_ch, JOINT_CHANNELS, layout), nn.GELU(),
                         GraphConv(JOINT_CHANNELS, JOINT_CHANNELS, layout))


def _temporal(in_ch: int, cfg: ProjectionConfig) -> nn.Sequential:
    """in_ch channels at T frames -> code_dim channels at T / temporal_downsample steps."""
    h = cfg.hidden_dim
    layers: list[nn.Module] = [nn.Conv1d(in_ch, h, 3, padding=1)]
    for _ in range(_num_halvings(cfg.temporal_downsample)):
        layers += [nn.GELU(), nn.Conv1d(h, h, 4, stride=2, padding=1), ResBlock1d(h, 1), ResBlock1d(h, 3)]
    layers += [nn.GELU(), nn.Conv1d(h, cfg.code_dim, 3, padding=1)]
    return nn.Sequential(*layers)


class BodyEncoder(nn.Module):
    """A spatial graph convolution over the joint tree, joints folded into channels, then a temporal
    convolution stack: one token per time step for the whole body."""

    tokens_per_step = 1

    def __init__(self, layout: JointLayout, in_ch: int, cfg: ProjectionConfig):
        super().__init__()
        self.spatial = _spatial(layout, in_ch)
        self.temporal = _temporal(JOINT_CHANNELS * layout.num_joints, cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, T, V, C] -> z [N, T', D]."""
        n, t, v, c = x.shape
        h = self.spatial(x.permute(0, 3, 1, 2))  # [N, J, T, V]
        h = h.permute(0, 1, 3, 2).reshape(n, -1, t)  # joints folded into channels
        return self.temporal(h).transpose(1, 2)


class PartEncoder(nn.Module):
    """The same spatial graph convolution over the whole skeleton (parts see their neighbours), then
    each body part's joints folded into channels by a part-specific input layer and one shared temporal
    stack (told the part by a learned embedding): one token per part per time step."""

    def __init__(self, layout: JointLayout, in_ch: int, cfg: ProjectionConfig):
        super().__init__()
        self.parts = layout.body_parts()
        self.tokens_per_step = len(self.parts)
        for i, part in enumerate(self.parts):
            self.register_buffer(f"joints_{i}", torch.tensor(part), persistent=False)
        self.spatial = _spatial(layout, in_ch)
        h = cfg.hidden_dim
        self.part_in = nn.ModuleList(nn.Conv1d(JOINT_CHANNELS * len(p), h, 3, padding=1) for p in self.parts)
        self.part_embedding = nn.Parameter(torch.zeros(len(self.parts), h, 1))
        self.temporal = _temporal(h, cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, T, V, C] -> z [N, T' * P, D], time-major."""
        n, t, v, c = x.shape
        h = self.spatial(x.permute(0, 3, 1, 2))  # [N, J, T, V]
        per_part = [layer(h[..., getattr(self, f"joints_{i}")].permute(0, 1, 3, 2).reshape(n, -1, t))
                    for i, layer in enumerate(self.part_in)]
        h = torch.stack(per_part, 1) + self.part_embedding  # [N, P, H, T]
        z = self.temporal(h.flatten(0, 1))  # [N * P, D, T']
        p = self.tokens_per_step
        return z.reshape(n, p, *z.shape[1:]).permute(0, 3, 1, 2).reshape(n, -1, z.shape[1])


def conv_encoder(layout: JointLayout, in_ch: int, cfg: ProjectionConfig) -> nn.Module:
    return PartEncoder(layout, in_ch, cfg) if cfg.part_tokens else BodyEncoder(layout, in_ch, cfg)


# The one place that names the encoders: ``projection.encoder``'s choices must be its keys (a test checks
# the config's Literal against it). Each builds (layout, input channels, config) -> encoder module.
ENCODERS: dict[str, Callable[[JointLayout, int, ProjectionConfig], nn.Module]] = {
    "conv": conv_encoder,
    "gcn": GraphEncoder,
}


def build_encoder(layout: JointLayout, in_ch: int, cfg: ProjectionConfig) -> nn.Module:
    """The encoder ``cfg.encoder`` names, for ``layout`` clips of ``in_ch`` channels."""
    return ENCODERS[cfg.encoder](layout, in_ch, cfg)


class Decoder(nn.Module):
    """q [N, T' * P, D] -> x [N, T, V, C]: the P tokens of a time step are read together."""

    def __init__(self, layout: JointLayout, out_ch: int, cfg: ProjectionConfig, tokens_per_step: int = 1):
        super().__init__()
        h = cfg.hidden_dim
        layers: list[nn.Module] = [nn.Conv1d(cfg.code_dim * tokens_per_step, h, 3, padding=1)]
        for _ in range(_num_halvings(cfg.temporal_downsample)):
            layers += [ResBlock1d(h, 3), ResBlock1d(h, 1), nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv1d(h, h, 3, padding=1)]
        layers += [nn.GELU(), nn.Conv1d(h, layout.num_joints * out_ch, 3, padding=1)]
        self.net = nn.Sequential(*layers)
        self.num_joints, self.out_ch, self.tokens_per_step = layout.num_joints, out_ch, tokens_per_step

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        n, length, d = q.shape
        steps = q.reshape(n, length // self.tokens_per_step, self.tokens_per_step * d)
        out = self.net(steps.transpose(1, 2))  # [N, V*C, T]
        t = out.shape[-1]
        return out.reshape(n, self.num_joints, self.out_ch, t).permute(0, 3, 1, 2)


__all__ = ["ENCODERS", "BodyEncoder", "PartEncoder", "Decoder", "GraphConv", "build_encoder", "conv_encoder"]

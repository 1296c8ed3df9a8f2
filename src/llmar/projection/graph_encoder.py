"""The graph-network encoder: the baseline's CTR-GCN backbone, kept per time step instead of pooled.

SUGAR's route into an LLM (a CTR-GCN encoder trained for the classes, its unpooled features projected
into the LLM): the same layers and stage plan as the baseline classifier (:mod:`llmar.nn.graph`;
``projection.graph_width`` channels, doubling twice, time halved twice), so the LLM reads features of the
network that classifies the data best on its own. x [N, T, V, C] -> z [N, T' * P, D]: after the backbone,
time is average-pooled to ``T' = T / temporal_downsample`` steps and the joints to P tokens (the whole
body, or each body part with ``projection.part_tokens``), each projected to the code width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from llmar.config import ProjectionConfig
from llmar.data.layout import JointLayout
from llmar.nn.graph import graph_layers, graph_subsets, stage_plan

GRAPH_DEPTH = 10  # the baseline's ten TCN-GCN layers


def encoder_stage_plan(base_channels: int, temporal_downsample: int) -> list[tuple[int, int]]:
    """The baseline's stage plan with a layer's halving of time kept only while it still divides what
    is left of ``temporal_downsample``: the backbone never makes fewer than T' steps."""
    plan, left = [], temporal_downsample
    for cout, stride in stage_plan(GRAPH_DEPTH, base_channels):
        stride = stride if left % stride == 0 else 1
        left //= stride
        plan.append((cout, stride))
    return plan


class GraphEncoder(nn.Module):
    """x [N, T, V, C] -> z [N, T' * P, D], time-major: the CTR-GCN layers, then time and joints pooled."""

    def __init__(self, layout: JointLayout, in_ch: int, cfg: ProjectionConfig):
        super().__init__()
        self.parts = layout.body_parts() if cfg.part_tokens else [list(range(layout.num_joints))]
        self.tokens_per_step = len(self.parts)
        self.temporal_downsample = cfg.temporal_downsample
        pool = torch.zeros(layout.num_joints, len(self.parts))  # joint -> part averaging matrix
        for i, part in enumerate(self.parts):
            pool[part, i] = 1.0 / len(part)
        self.register_buffer("part_pool", pool, persistent=False)
        self.data_bn = nn.BatchNorm1d(layout.num_joints * in_ch)
        adjacency = torch.from_numpy(graph_subsets(layout, 3))
        plan = encoder_stage_plan(cfg.graph_width, cfg.temporal_downsample)
        self.layers = graph_layers(in_ch, adjacency, plan)
        self.out = nn.Linear(plan[-1][0], cfg.code_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, v, c = x.shape
        h = self.data_bn(x.permute(0, 2, 3, 1).reshape(n, v * c, t))
        h = h.reshape(n, v, c, t).permute(0, 2, 3, 1)  # [N, C, T, V]
        for layer in self.layers:
            h = layer(h)
        steps = t // self.temporal_downsample
        if h.shape[2] != steps:  # the backbone halves time at most twice; pool the rest
            h = F.adaptive_avg_pool2d(h, (steps, v))
        parts = torch.einsum("nctv,vp->ntpc", h, self.part_pool)  # [N, T', P, C]
        return self.out(parts).reshape(n, -1, self.out.out_features)

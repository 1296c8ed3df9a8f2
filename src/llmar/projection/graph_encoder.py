"""A stronger stage-1 encoder: the baseline's CTR-GCN blocks (channel-wise topology refinement graph
convolution + multi-scale temporal convolution), kept per time step instead of pooled over time.

x [N, T, V, C] -> z [N, T' * P, D]: the blocks halve time ``log2(temporal_downsample)`` times; the
joint features are then averaged over the whole body (P = 1) or over each body part
(``projection.part_tokens``: P = number of parts) and projected to the code width.
"""

from __future__ import annotations

import torch
from torch import nn

from llmar.baseline.ctrgcn import GCNConfig, TCNGCNUnit, graph_subsets
from llmar.config import ProjectionConfig
from llmar.data.layout import JointLayout
from llmar.projection.encoders import _num_halvings


class GraphEncoder(nn.Module):
    def __init__(self, layout: JointLayout, in_ch: int, cfg: ProjectionConfig):
        super().__init__()
        self.parts = layout.body_parts() if cfg.part_tokens else [list(range(layout.num_joints))]
        self.tokens_per_step = len(self.parts)
        pool = torch.zeros(layout.num_joints, len(self.parts))  # joint -> part averaging matrix
        for i, part in enumerate(self.parts):
            pool[part, i] = 1.0 / len(part)
        self.register_buffer("part_pool", pool, persistent=False)
        self.data_bn = nn.BatchNorm1d(layout.num_joints * in_ch)
        adjacency = torch.from_numpy(graph_subsets(layout, 3))
        block = GCNConfig()
        width = max(cfg.hidden_dim // 2, 16)
        layers = [TCNGCNUnit(in_ch, width, adjacency, 1, block, residual=False)]
        for _ in range(_num_halvings(cfg.temporal_downsample)):
            layers.append(TCNGCNUnit(width, width * 2, adjacency, 2, block, residual=True))
            width *= 2
        layers.append(TCNGCNUnit(width, width, adjacency, 1, block, residual=True))
        self.layers = nn.ModuleList(layers)
        self.out = nn.Linear(width, cfg.code_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, v, c = x.shape
        h = self.data_bn(x.permute(0, 2, 3, 1).reshape(n, v * c, t))
        h = h.reshape(n, v, c, t).permute(0, 2, 3, 1)  # [N, C, T, V]
        for layer in self.layers:
            h = layer(h)
        parts = torch.einsum("nctv,vp->ntpc", h, self.part_pool)  # [N, T', P, C]
        return self.out(parts).reshape(n, -1, self.out.out_features)

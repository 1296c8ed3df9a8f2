"""Graph-network building blocks shared by the CTR-GCN baseline and stage 1's graph encoder.

Written from the description in Chen et al., "Channel-wise Topology Refinement Graph Convolution for
Skeleton-Based Action Recognition" (ICCV 2021). A layer is a graph convolution whose topology is a shared
adjacency (fixed tree + learned additive part) refined per sample and per channel (CTR-GC), followed by a
multi-scale temporal convolution. Features are [N, C, T, V] throughout.

This module sits just above ``llmar.data`` (it reads a :class:`JointLayout`) and below both model families,
``llmar.baseline`` and ``llmar.projection``, so neither has to import the other to share the network.
Module attribute names are part of saved runs' state_dict keys (``layers.0.gcn.convs.1.q.weight``...), and
the construction order fixes what a seeded initialisation draws: change neither.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from llmar.data.layout import JointLayout

# -- graph ----------------------------------------------------------------------------------------


def normalize_columns(a: np.ndarray) -> np.ndarray:
    """Divide each column by its sum (columns that sum to zero stay zero).

    Convention: ``a[u, v]`` is the weight with which source joint ``v`` feeds target joint ``u``, so
    after normalisation every joint sends out a total weight of 1 (the ST-GCN/CTR-GCN convention).
    """
    deg = a.sum(axis=0)
    inv = np.where(deg > 0, 1.0 / np.maximum(deg, 1e-12), 0.0)
    return (a * inv[None, :]).astype(np.float32)


def graph_subsets(layout: JointLayout, num_subsets: int = 3) -> np.ndarray:
    """[K, V, V] adjacency subsets of the layout's tree.

    K=3: identity, inward (child -> parent: ``A[parent, child]``), outward (parent -> child:
    ``A[child, parent]``), the latter two column-normalised. K=1: the column-normalised symmetric
    adjacency with self-loops.
    """
    v = layout.num_joints
    if num_subsets == 1:
        return normalize_columns(layout.adjacency(self_loops=True))[None]
    if num_subsets != 3:
        raise ValueError(f"num_subsets must be 1 or 3, got {num_subsets}")
    inward = np.zeros((v, v), dtype=np.float32)
    for child, parent in layout.bones:
        inward[parent, child] = 1.0  # the parent gathers from its child
    outward = inward.T.copy()
    return np.stack([np.eye(v, dtype=np.float32), normalize_columns(inward), normalize_columns(outward)])


def stage_plan(num_stages: int, base_channels: int) -> list[tuple[int, int]]:
    """(out_channels, temporal stride) for each layer: the 10-layer recipe (doubling at layers 5 and
    8) scaled to ``num_stages`` layers."""
    if num_stages < 1:
        raise ValueError(f"num_stages must be >= 1, got {num_stages}")
    grow = {min(max(1, int(f * num_stages + 0.5)), num_stages) for f in (0.4, 0.7)} - {num_stages}
    plan, ch = [], base_channels
    for i in range(num_stages):
        stride = 1
        if i in grow:
            ch, stride = ch * 2, 2
        plan.append((ch, stride))
    return plan


def _batch_norm(c: int, gamma: float = 1.0) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(c)
    nn.init.constant_(bn.weight, gamma)
    nn.init.zeros_(bn.bias)
    return bn


def _temporal_conv_bn(cin: int, cout: int, kernel: int = 1, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """Temporal conv (kernel x 1, 'same' padding before the stride) + BN."""
    pad = (kernel - 1) * dilation // 2
    conv = nn.Conv2d(cin, cout, (kernel, 1), stride=(stride, 1), padding=(pad, 0), dilation=(dilation, 1))
    return nn.Sequential(conv, _batch_norm(cout))


# -- spatial: channel-wise topology refinement ----------------------------------------------------


class CTRGC(nn.Module):
    """One subset's channel-wise topology refinement graph convolution.

    Pairwise joint relations come from tanh of differences of temporally pooled low-dimensional
    features; a 1x1 conv lifts them to one [V, V] refinement per output channel, which is scaled by
    ``alpha`` and added to the shared topology ``a`` before aggregating the transformed features.
    """

    def __init__(self, cin: int, cout: int, reduction: int = 8):
        super().__init__()
        rel = 8 if cin <= 16 else max(cin // reduction, 1)  # raw coordinates get a fixed width
        self.q = nn.Conv2d(cin, rel, 1)
        self.k = nn.Conv2d(cin, rel, 1)
        self.value = nn.Conv2d(cin, cout, 1)
        self.lift = nn.Conv2d(rel, cout, 1)

    def forward(self, x: torch.Tensor, a: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        # x: [N, C, T, V]; a: [V, V]
        q, k = self.q(x).mean(2), self.k(x).mean(2)  # [N, R, V]
        rel = torch.tanh(q.unsqueeze(-1) - k.unsqueeze(-2))  # [N, R, V, V]
        topo = self.lift(rel) * alpha + a  # [N, C', V, V], one topology per channel
        return torch.einsum("ncuv,nctv->nctu", topo, self.value(x))


class UnitGCN(nn.Module):
    """Sum of CTR-GCs over the adjacency subsets, BN, residual, ReLU."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor):
        super().__init__()
        self.register_buffer("graph", adjacency.clone())  # [K, V, V] fixed tree subsets
        self.learned = nn.Parameter(torch.zeros_like(adjacency))  # additive part: starts at the graph
        self.alpha = nn.Parameter(torch.zeros(1))  # refinement strength; 0 = start from shared topology
        self.convs = nn.ModuleList(CTRGC(cin, cout) for _ in range(adjacency.shape[0]))
        self.bn = _batch_norm(cout, gamma=1e-6)  # near-zero: each block starts close to its residual path
        self.down = nn.Identity() if cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1), _batch_norm(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.graph + self.learned
        y = sum(conv(x, a[i], self.alpha) for i, conv in enumerate(self.convs))
        return F.relu(self.bn(y) + self.down(x))


# -- temporal -------------------------------------------------------------------------------------


class MultiScaleTCN(nn.Module):
    """Parallel temporal branches, concatenated: one dilated conv per dilation, a max-pool branch and
    a strided 1x1 branch. Each branch gets ~1/n of the output channels."""

    def __init__(self, cin: int, cout: int, kernel: int = 5, stride: int = 1, dilations: tuple = (1, 2)):
        super().__init__()
        n = len(dilations) + 2
        if cout < n:
            raise ValueError(f"multi-scale TCN needs at least {n} channels for {n} branches, got {cout}")
        widths = [cout // n + (1 if i < cout % n else 0) for i in range(n)]
        branches = []
        for w, d in zip(widths[: len(dilations)], dilations, strict=True):
            branches.append(nn.Sequential(nn.Conv2d(cin, w, 1), _batch_norm(w), nn.ReLU(inplace=True),
                                          *_temporal_conv_bn(w, w, kernel, stride, d)))
        w = widths[-2]
        branches.append(
            nn.Sequential(
                nn.Conv2d(cin, w, 1), _batch_norm(w), nn.ReLU(inplace=True),
                nn.MaxPool2d((3, 1), stride=(stride, 1), padding=(1, 0)), _batch_norm(w),
            )
        )
        branches.append(_temporal_conv_bn(cin, widths[-1], 1, stride))
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


# -- the layer and the stack ----------------------------------------------------------------------


class TCNGCNUnit(nn.Module):
    """Graph conv then multi-scale temporal conv, with a (possibly projected) residual."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor, *, stride: int = 1, residual: bool = True,
                 temporal_kernel: int = 5, dilations: tuple = (1, 2)):
        super().__init__()
        self.gcn = UnitGCN(cin, cout, adjacency)
        self.tcn = MultiScaleTCN(cout, cout, temporal_kernel, stride, tuple(dilations))
        if not residual:
            self.residual = None
        elif cin == cout and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = _temporal_conv_bn(cin, cout, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        return F.relu(y if self.residual is None else y + self.residual(x))


def graph_layers(in_channels: int, adjacency: torch.Tensor, plan: list[tuple[int, int]], *,
                 temporal_kernel: int = 5, dilations: tuple = (1, 2)) -> nn.ModuleList:
    """One :class:`TCNGCNUnit` per (out_channels, stride) of ``plan``; the first has no residual (its
    input is raw coordinates, not features worth carrying), as in the published network."""
    layers, cin = [], in_channels
    for i, (cout, stride) in enumerate(plan):
        layers.append(TCNGCNUnit(cin, cout, adjacency, stride=stride, residual=i > 0,
                                 temporal_kernel=temporal_kernel, dilations=dilations))
        cin = cout
    return nn.ModuleList(layers)


__all__ = ["CTRGC", "MultiScaleTCN", "TCNGCNUnit", "UnitGCN", "graph_layers", "graph_subsets", "normalize_columns",
           "stage_plan"]

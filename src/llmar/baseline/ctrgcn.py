"""A joint-stream CTR-GCN-style classifier: the graph-network baseline.

Written from the description in Chen et al., "Channel-wise Topology Refinement Graph Convolution for
Skeleton-Based Action Recognition" (ICCV 2021). Each layer is a graph convolution whose topology is a
shared adjacency (fixed tree + learned additive part) refined per sample and per channel (CTR-GC),
followed by a multi-scale temporal convolution. Input ``x`` is [B, M, T, V, C] as in
:class:`llmar.data.dataset.SkeletonDataset`; output is class logits [B, num_classes].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from llmar.data.layout import JointLayout


@dataclass
class GCNConfig:
    base_channels: int = 64
    num_stages: int = 10  # TCN-GCN layers; channels double (and time halves) at ~40% and ~70% depth
    dropout: float = 0.0
    num_subsets: int = 3  # 3: identity / inward / outward; 1: one normalised undirected adjacency
    temporal_kernel: int = 5
    dilations: tuple = (1, 2)
    # False: data BatchNorm over M*V*C channels (the published model; body slots get their own
    # statistics). True: one BatchNorm over V*C shared by all bodies, so the model is exactly
    # invariant to the order of bodies even after training.
    share_body_bn: bool = False


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


def _bn(c: int, gamma: float = 1.0) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(c)
    nn.init.constant_(bn.weight, gamma)
    nn.init.zeros_(bn.bias)
    return bn


def _conv_bn(cin: int, cout: int, kernel: int = 1, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """Temporal conv (kernel x 1, 'same' padding before the stride) + BN."""
    pad = (kernel - 1) * dilation // 2
    conv = nn.Conv2d(cin, cout, (kernel, 1), stride=(stride, 1), padding=(pad, 0), dilation=(dilation, 1))
    return nn.Sequential(conv, _bn(cout))


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
        self.bn = _bn(cout, gamma=1e-6)  # near-zero: each block starts close to its residual path
        self.down = nn.Identity() if cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1), _bn(cout))

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
            branches.append(
                nn.Sequential(nn.Conv2d(cin, w, 1), _bn(w), nn.ReLU(inplace=True), *_conv_bn(w, w, kernel, stride, d))
            )
        w = widths[-2]
        branches.append(
            nn.Sequential(
                nn.Conv2d(cin, w, 1), _bn(w), nn.ReLU(inplace=True),
                nn.MaxPool2d((3, 1), stride=(stride, 1), padding=(1, 0)), _bn(w),
            )
        )
        branches.append(_conv_bn(cin, widths[-1], 1, stride))
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


class TCNGCNUnit(nn.Module):
    """Graph conv then multi-scale temporal conv, with a (possibly projected) residual."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor, stride: int, cfg: GCNConfig, residual: bool):
        super().__init__()
        self.gcn = UnitGCN(cin, cout, adjacency)
        self.tcn = MultiScaleTCN(cout, cout, cfg.temporal_kernel, stride, tuple(cfg.dilations))
        if not residual:
            self.residual = None
        elif cin == cout and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = _conv_bn(cin, cout, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        return F.relu(y if self.residual is None else y + self.residual(x))


# -- the classifier -------------------------------------------------------------------------------


class CTRGCN(nn.Module):
    """CTR-GCN-style classifier on one stream (joint coordinates).

    forward(x [B, M, T, V, C]) -> logits [B, num_classes]. Bodies are run as separate samples through
    the shared network and their features averaged, so absent (all-zero) bodies are harmless.
    """

    def __init__(
        self,
        num_classes: int,
        layout: JointLayout,
        in_channels: int = 3,
        num_bodies: int = 2,
        config: GCNConfig | None = None,
    ):
        super().__init__()
        cfg = config or GCNConfig()
        if num_classes < 1 or num_bodies < 1 or in_channels < 1:
            raise ValueError(
                f"CTRGCN: num_classes, num_bodies and in_channels must be >= 1, got "
                f"{num_classes}, {num_bodies}, {in_channels}"
            )
        self.cfg, self.layout = cfg, layout
        self.num_classes, self.in_channels, self.num_bodies = num_classes, in_channels, num_bodies
        v = layout.num_joints
        self.data_bn = nn.BatchNorm1d(v * in_channels * (1 if cfg.share_body_bn else num_bodies))
        adjacency = torch.from_numpy(graph_subsets(layout, cfg.num_subsets))
        layers, cin = [], in_channels
        for i, (cout, stride) in enumerate(stage_plan(cfg.num_stages, cfg.base_channels)):
            layers.append(TCNGCNUnit(cin, cout, adjacency, stride, cfg, residual=i > 0))
            cin = cout
        self.layers = nn.ModuleList(layers)
        self.drop = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(cin, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc.weight, 0.0, math.sqrt(2.0 / self.num_classes))
        nn.init.zeros_(self.fc.bias)

    @property
    def out_channels(self) -> int:
        return self.fc.in_features

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features [B, out_channels] (before dropout and the classifier)."""
        self._check(x)
        b, m, t, v, c = x.shape
        # BatchNorm over the per-(body,) joint and coordinate channels, statistics over batch and time
        x = x.permute(0, 1, 3, 4, 2)  # [B, M, V, C, T]
        if self.cfg.share_body_bn:
            x = self.data_bn(x.reshape(b * m, v * c, t))
        else:
            x = self.data_bn(x.reshape(b, m * v * c, t))
        x = x.reshape(b, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(b * m, c, t, v)  # [B*M, C, T, V]
        for layer in self.layers:
            x = layer(x)
        return x.reshape(b, m, x.shape[1], -1).mean(3).mean(1)  # average over time, joints, bodies

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.features(x)))

    def _check(self, x: torch.Tensor) -> None:
        expected = f"[B, {self.num_bodies}, T, {self.layout.num_joints}, {self.in_channels}]"
        if x.ndim != 5:
            raise ValueError(f"CTRGCN: input must be [B, M, T, V, C] = {expected}, got shape {tuple(x.shape)}")
        _, m, _, v, c = x.shape
        if (m, v, c) != (self.num_bodies, self.layout.num_joints, self.in_channels):
            raise ValueError(
                f"CTRGCN (layout {self.layout.name!r}): input must be {expected}, got shape {tuple(x.shape)}"
            )

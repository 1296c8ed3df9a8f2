"""ConSE (Norouzi et al., ICLR 2014): zero-shot scores from a seen-class posterior and text embeddings.

A clip's semantic vector is the probability-weighted mean of its top-T seen classes' text embeddings;
each unseen class scores the cosine between that vector and its own embedding. It turns any recognizer
of the seen classes, here the LLM's answer likelihoods, into a scorer of new names, with the meaning of
the names carried by a sentence encoder instead of by the recognizer itself.
"""

from __future__ import annotations

import numpy as np


def conse_scores(seen_scores: np.ndarray, seen_embeddings: np.ndarray, unseen_embeddings: np.ndarray,
                 top: int = 5) -> np.ndarray:
    """Scores [N, U] of the unseen classes from log-scores [N, S] over the seen classes (-inf allowed:
    an exact top-k search leaves the rest unscored) and unit-norm text embeddings [S, D], [U, D]."""
    scores = np.asarray(seen_scores, dtype=np.float64)
    top = min(top, scores.shape[1])
    best = np.argsort(-scores, axis=1, kind="stable")[:, :top]
    logits = np.take_along_axis(scores, best, 1)
    weights = np.exp(logits - logits[:, :1])  # the top-T posterior, renormalised among them
    weights[~np.isfinite(logits)] = 0.0
    weights /= weights.sum(1, keepdims=True)
    semantic = np.einsum("nt,ntd->nd", weights, np.asarray(seen_embeddings, dtype=np.float64)[best])
    semantic /= np.linalg.norm(semantic, axis=1, keepdims=True).clip(min=1e-12)
    return semantic @ np.asarray(unseen_embeddings, dtype=np.float64).T


__all__ = ["conse_scores"]

"""The paper's "human inductive bias" terms on the action tokens, each a differentiable scalar loss.

- ``mmd_rbf``: align the code vectors' distribution with the LLM's token embeddings (MMD^2).
- ``zipf_loss``: batch token frequencies should follow a power law over their ranks (Zipf's law).
- ``context_sensitivity_loss``: neighbouring tokens should be informative about each other (-MI).
plus ``token_statistics`` for logging the discrete tokens (usage, perplexity, dead codes, rank-frequency).
All computations run in float32 (float64 inputs stay float64).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

EPS = 1e-12
MEDIAN_SAMPLE = 1_000_000


def _float(x: Tensor) -> Tensor:
    return x if x.dtype == torch.float64 else x.float()


def _sqdist(x: Tensor, y: Tensor) -> Tensor:
    with torch.autocast(x.device.type, enabled=False):  # keep the cancelling matmul in full precision
        return (x.pow(2).sum(-1, keepdim=True) + y.pow(2).sum(-1) - 2 * x @ y.T).clamp_min(0)


def mmd_rbf(
    x: Tensor, y: Tensor, scales: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0), unbiased: bool = False
) -> Tensor:
    """Squared maximum mean discrepancy between samples x [N, D] and y [M, D], multi-bandwidth RBF kernel.

    k(a, b) = mean_s exp(-|a - b|^2 / (2 (s * m)^2)) with m the median pairwise distance of the pooled
    sample (detached: the bandwidth adapts to the data's scale but is not a way to lower the loss).
    Default: the biased V-statistic (diagonal terms included), which is >= 0 always and has low variance;
    its floor for equal distributions is O(1/N + 1/M) but that is a constant offset, its gradient equals
    the unbiased one's up to a factor (N-1)/N on the within-sample terms. ``unbiased=True`` gives the
    U-statistic (zero mean for equal distributions, can be slightly negative).
    """
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"mmd_rbf: expected x [N, D] and y [M, D], got {tuple(x.shape)} and {tuple(y.shape)}")
    n, m = x.shape[0], y.shape[0]
    if n < 2 or m < 2:
        raise ValueError(f"mmd_rbf: need at least 2 samples on each side, got {n} and {m}")
    if not scales or min(scales) <= 0:
        raise ValueError(f"mmd_rbf: scales must be positive, got {scales}")
    dt = torch.float64 if torch.float64 in (x.dtype, y.dtype) else torch.float32
    x, y = x.to(dt), y.to(dt)
    dxx, dyy, dxy = _sqdist(x, x), _sqdist(y, y), _sqdist(x, y)
    with torch.no_grad():
        pooled = torch.cat([dxx[~torch.eye(n, dtype=torch.bool, device=x.device)], dyy.flatten(), dxy.flatten()])
        if pooled.numel() > MEDIAN_SAMPLE:  # the median of a random subset is plenty for a bandwidth
            pooled = pooled[torch.randint(pooled.numel(), (MEDIAN_SAMPLE,), device=pooled.device)]
        median = pooled.sqrt().median().clamp_min(EPS)

    def kernel(d2: Tensor) -> Tensor:
        k = torch.zeros_like(d2)
        for s in scales:  # accumulate rather than stack: one [N, M] buffer per kernel matrix
            # clamp: exp(-80) ~ 1e-35 is still a normal float; denormal results are ~5x slower on CPU
            k = k + torch.exp((-d2 / (2 * (s * median) ** 2)).clamp_min(-80.0))
        return k / len(scales)

    kxx, kyy, kxy = kernel(dxx), kernel(dyy), kernel(dxy)
    if unbiased:
        exx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
        eyy = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    else:
        exx, eyy = kxx.mean(), kyy.mean()
    return exx + eyy - 2 * kxy.mean()


def _frequencies(probs: Tensor) -> Tensor:
    """Mean soft assignment over all leading dims -> [K], normalised to sum 1."""
    freq = _float(probs).reshape(-1, probs.shape[-1]).mean(0)
    return freq / freq.sum().clamp_min(EPS)


def zipf_loss(probs: Tensor, exponent: float = 1.0) -> Tensor:
    """KL(zipf || f): batch token frequencies f, sorted by rank, against the power law r^-s / sum.

    probs [..., K] are soft assignments (rows summing to 1). f = their mean over all leading dims, sorted
    descending (the sort is differentiable through its values; only the ordering is piecewise constant).
    Direction: KL(zipf || f) = sum_r p_r log(p_r / f_r) is mass-covering: it blows up where the power law
    expects mass and f has none, so collapsing onto a few codes or leaving a dead tail is punished hard.
    The reverse KL(f || zipf) stays finite (log H_K ~ 2 for K = 512) even for total collapse onto one
    code, which is exactly the failure we want to prevent. 0 iff the sorted frequencies are the power law.
    """
    if probs.dim() < 1 or probs.shape[-1] < 1:
        raise ValueError(f"zipf_loss: expected probs [..., K], got shape {tuple(probs.shape)}")
    freq = _frequencies(probs).sort(descending=True).values
    ranks = torch.arange(1, freq.shape[0] + 1, device=freq.device, dtype=freq.dtype)
    target = ranks.pow(-exponent)
    target = target / target.sum()
    return (target * (target.log() - freq.clamp_min(EPS).log())).sum()


def context_sensitivity_loss(probs: Tensor) -> Tensor:
    """-I(x_t; x_t+1) from soft bigram counts of probs [B, L, K] (minimise it to raise the MI).

    joint[i, j] = mean over b, t of p_t[i] p_t+1[j]; I = sum joint log(joint / (row marginal * col marginal))
    = H(x_t+1) - H(x_t+1 | x_t). Note a sequence repeating one token per run also has high MI: combine with
    the Zipf term (or usage) rather than use alone.
    """
    if probs.dim() != 3:
        raise ValueError(f"context_sensitivity_loss: expected probs [B, L, K], got shape {tuple(probs.shape)}")
    if probs.shape[1] < 2:
        raise ValueError(f"context_sensitivity_loss: need sequences of length >= 2, got L = {probs.shape[1]}")
    p = _float(probs)
    cur, nxt = p[:, :-1].reshape(-1, p.shape[-1]), p[:, 1:].reshape(-1, p.shape[-1])
    joint = cur.T @ nxt / cur.shape[0]  # [K, K]
    joint = joint / joint.sum().clamp_min(EPS)
    pa, pb = joint.sum(1, keepdim=True), joint.sum(0, keepdim=True)
    mi = (joint * (joint.clamp_min(EPS).log() - (pa * pb).clamp_min(EPS).log())).sum()
    return -mi


def token_statistics(indices: Tensor, num_codes: int) -> dict:
    """Statistics of hard token ids (any shape) over a codebook of ``num_codes``.

    Returns usage (fraction of codes used), perplexity (exp of the frequency entropy, in [1, K]),
    dead (number of unused codes), entropy (nats), zipf_exponent (least-squares slope of -log f vs log r
    over the used ranks; nan with fewer than 2 used codes) and rank_frequency (np.ndarray [K], sorted
    descending, sums to 1).
    """
    idx = indices.detach().reshape(-1).long().cpu()
    if idx.numel() == 0:
        raise ValueError("token_statistics: no indices given")
    if idx.min() < 0 or idx.max() >= num_codes:
        raise ValueError(
            f"token_statistics: indices must be in [0, {num_codes}), got range [{int(idx.min())}, {int(idx.max())}]"
        )
    counts = torch.bincount(idx, minlength=num_codes).double()
    freq = counts / counts.sum()
    nz = freq[freq > 0]
    entropy = float(-(nz * nz.log()).sum())
    ranked = freq.sort(descending=True).values.numpy()
    used = int((counts > 0).sum())
    if used >= 2:
        logr, logf = np.log(np.arange(1, used + 1)), np.log(ranked[:used])
        zipf_exponent = float(-np.polyfit(logr, logf, 1)[0])
    else:
        zipf_exponent = math.nan
    return {
        "usage": used / num_codes,
        "perplexity": math.exp(entropy),
        "dead": num_codes - used,
        "entropy": entropy,
        "zipf_exponent": zipf_exponent,
        "rank_frequency": ranked,
    }

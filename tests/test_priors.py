"""Bias terms: MMD, Zipf and context-sensitivity losses behave as intended and can be optimised."""

import math

import numpy as np
import pytest
import torch

from llmar.projection.priors import context_sensitivity_loss, mmd_rbf, token_statistics, zipf_loss

pytestmark = pytest.mark.usefixtures("one_thread")


def test_mmd_small_for_same_distribution_large_for_shifted():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(400, 16, generator=g), torch.randn(500, 16, generator=g)
    shifted = torch.randn(500, 16, generator=g) + 0.5
    wider = torch.randn(500, 16, generator=g) * 1.5
    same, far, scale = mmd_rbf(x, y).item(), mmd_rbf(x, shifted).item(), mmd_rbf(x, wider).item()
    assert same >= 0
    assert far > 10 * same and scale > 10 * same
    assert mmd_rbf(x, x).abs().item() < 1e-6
    assert mmd_rbf(x, y, unbiased=True).item() < 2e-3  # U-statistic: ~0, may dip just below
    assert mmd_rbf(x, y, unbiased=True).item() > -2e-3
    assert mmd_rbf(x, shifted, unbiased=True).item() > 10 * abs(mmd_rbf(x, y, unbiased=True).item())
    # invariant to a common rescaling of both samples (median-distance bandwidth)
    assert math.isclose(mmd_rbf(3 * x, 3 * shifted).item(), far, rel_tol=1e-4)


def test_mmd_gradient_descent_aligns_samples():
    torch.manual_seed(0)
    target = torch.randn(300, 8)
    x = (torch.randn(100, 8) * 0.3 + 2.0).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.05)
    start = mmd_rbf(x, target).item()
    for _ in range(100):
        loss = mmd_rbf(x, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert mmd_rbf(x, target).item() < 0.1 * start
    # the cloud moved onto the target (started 2 * sqrt(8) ~ 5.7 away); a few points far out in the
    # kernel's flat tail may lag, which is MMD's nature, so compare medians
    assert (x.median(0).values - target.median(0).values).norm() < 1.0


def test_mmd_input_errors():
    with pytest.raises(ValueError, match="mmd_rbf"):
        mmd_rbf(torch.randn(5, 3), torch.randn(5, 4))
    with pytest.raises(ValueError, match="at least 2"):
        mmd_rbf(torch.randn(1, 3), torch.randn(5, 3))


def one_hot_probs(freq: np.ndarray, n: int = 4000, smooth: float = 1e-3) -> torch.Tensor:
    """Soft assignments [n, K] whose mean is (almost) exactly ``freq``."""
    k = len(freq)
    counts = np.round(freq * n).astype(int)
    idx = np.repeat(np.arange(k), counts)
    p = torch.full((len(idx), k), smooth / k)
    p[torch.arange(len(idx)), torch.from_numpy(idx)] += 1 - smooth
    return p


def test_zipf_lower_for_power_law_than_uniform_or_collapsed():
    k = 32
    ranks = np.arange(1, k + 1)
    zipf = ranks**-1.0 / (ranks**-1.0).sum()
    perm = np.random.default_rng(0).permutation(k)  # code ids need not be in rank order
    p = one_hot_probs(zipf[perm])
    power = zipf_loss(p[: len(p) // 4 * 4].reshape(4, -1, k)).item()  # leading dims are averaged over
    uniform = zipf_loss(one_hot_probs(np.full(k, 1 / k))).item()
    collapsed = zipf_loss(one_hot_probs(np.eye(k)[0])).item()
    assert power < 0.01
    assert uniform > 0.1 and collapsed > uniform
    # the exponent matters: a 1/r^2 law is best for exponent 2, not 1
    sq = ranks**-2.0 / (ranks**-2.0).sum()
    assert zipf_loss(one_hot_probs(sq), exponent=2.0) < zipf_loss(one_hot_probs(sq), exponent=1.0)


def test_zipf_is_forward_kl_and_punishes_a_dead_tail():
    k = 32
    ranks = np.arange(1, k + 1)
    zipf = ranks**-1.0 / (ranks**-1.0).sum()
    f = np.random.default_rng(1).dirichlet(np.ones(k))
    expected = (zipf * np.log(zipf / np.sort(f)[::-1])).sum()  # KL(zipf || sorted f)
    assert math.isclose(zipf_loss(torch.tensor(f)[None]).item(), expected, rel_tol=1e-5)
    # half the codes unused: the reverse KL would only be log(H_32 / H_16) ~ 0.18
    tail_dead = np.where(ranks <= k // 2, zipf, 0.0)
    assert zipf_loss(one_hot_probs(tail_dead / tail_dead.sum())).item() > 0.5


def test_zipf_gradient_descent_on_logits_lowers_it():
    torch.manual_seed(0)
    logits = torch.randn(256, 64, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=0.05)
    start = zipf_loss(logits.softmax(-1)).item()
    for _ in range(150):
        loss = zipf_loss(logits.softmax(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    end = zipf_loss(logits.softmax(-1)).item()
    assert end < 0.2 * start
    stats = token_statistics(logits.argmax(-1), 64)
    assert stats["zipf_exponent"] > 0.5  # the hard tokens became Zipf-like too


def bigram_probs(tokens: torch.Tensor, k: int, smooth: float = 1e-2) -> torch.Tensor:
    return torch.nn.functional.one_hot(tokens, k).float() * (1 - smooth) + smooth / k


def test_context_loss_lower_for_deterministic_bigrams():
    k, g = 16, torch.Generator().manual_seed(0)
    start = torch.randint(k, (64, 1), generator=g)
    perm = torch.randperm(k, generator=g)  # x_t+1 = perm[x_t]: fully predictable
    seq = [start]
    for _ in range(31):
        seq.append(perm[seq[-1]])
    deterministic = bigram_probs(torch.cat(seq, 1), k)
    independent = bigram_probs(torch.randint(k, (64, 32), generator=g), k)
    det, ind = context_sensitivity_loss(deterministic).item(), context_sensitivity_loss(independent).item()
    assert det < ind
    assert -det > 0.8 * math.log(k)  # MI close to its maximum log K
    assert -ind < 0.2  # close to 0 (small-sample bias only)
    assert context_sensitivity_loss(torch.full((4, 10, k), 1 / k)).abs().item() < 1e-6


def test_context_gradient_descent_raises_mi():
    torch.manual_seed(0)
    logits = (0.1 * torch.randn(32, 16, 8)).requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=0.05)
    start = -context_sensitivity_loss(logits.softmax(-1)).item()
    for _ in range(100):
        loss = context_sensitivity_loss(logits.softmax(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    end = -context_sensitivity_loss(logits.softmax(-1)).item()
    assert end > start + 1.0


def test_context_loss_input_errors():
    with pytest.raises(ValueError, match=r"\[B, L, K\]"):
        context_sensitivity_loss(torch.rand(5, 4))
    with pytest.raises(ValueError, match="length >= 2"):
        context_sensitivity_loss(torch.rand(5, 1, 4))


def test_token_statistics():
    idx = torch.tensor([[0, 0, 0, 0, 1, 1, 2, 3]])
    s = token_statistics(idx, num_codes=8)
    assert s["usage"] == 0.5 and s["dead"] == 4
    freq = np.array([0.5, 0.25, 0.125, 0.125])
    assert math.isclose(s["perplexity"], math.exp(-(freq * np.log(freq)).sum()), rel_tol=1e-9)
    np.testing.assert_allclose(s["rank_frequency"], [0.5, 0.25, 0.125, 0.125, 0, 0, 0, 0])
    uniform = token_statistics(torch.arange(8).repeat(3), 8)
    assert math.isclose(uniform["perplexity"], 8.0, rel_tol=1e-9) and uniform["dead"] == 0
    zipf_idx = torch.from_numpy(np.repeat(np.arange(10), (1000 / np.arange(1, 11)).astype(int)))
    assert abs(token_statistics(zipf_idx, 10)["zipf_exponent"] - 1.0) < 0.05
    with pytest.raises(ValueError, match="indices must be in"):
        token_statistics(torch.tensor([8]), 8)

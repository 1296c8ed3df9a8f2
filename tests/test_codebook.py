"""Codebooks: nearest-code search, straight-through gradients, losses, usage EMA, dead-code reset."""

import math

import pytest
import torch

from llmar.projection.codebook import EuclideanCodebook, HyperbolicCodebook, QuantizerOutput, soft_assign
from llmar.projection.hyperbolic import dist, expmap0, tangent_dist

pytestmark = pytest.mark.usefixtures("one_thread")


K, D = 32, 8


def make(kind: str, **kw):
    torch.manual_seed(0)
    if kind == "euclidean":
        cb = EuclideanCodebook(K, D, **kw)
    else:
        cb = HyperbolicCodebook(K, D, **kw)
    with torch.no_grad():  # spread the codes so that the nearest code is a real decision
        cb.codes.copy_(torch.randn(K, D) * 0.5)
    return cb


def brute_force_sqdist(cb, z: torch.Tensor) -> torch.Tensor:
    """[N, K] squared distances computed independently: L2, or geodesic distance between ball points."""
    z, e = z.double(), cb.codes.detach().double()
    if isinstance(cb, EuclideanCodebook):
        return ((z[:, None] - e[None]) ** 2).sum(-1)
    c = float(cb.curvature)
    return dist(expmap0(z, c)[:, None], expmap0(e, c)[None], c) ** 2


@pytest.mark.parametrize("kind,kw", [("euclidean", {}), ("hyperbolic", {}), ("hyperbolic", {"curvature": 2.5})])
def test_picks_the_true_nearest_code(kind, kw):
    cb = make(kind, **kw)
    z = torch.randn(4, 50, D) * 0.7
    out = cb(z)
    assert isinstance(out, QuantizerOutput)
    assert out.indices.shape == (4, 50) and out.indices.dtype == torch.long
    assert out.distances.shape == (4, 50, K) and out.quantized.shape == z.shape
    ref = brute_force_sqdist(cb, z.reshape(-1, D))
    assert torch.equal(out.indices.reshape(-1), ref.argmin(-1))
    assert torch.allclose(out.distances.reshape(-1, K).double(), ref, rtol=1e-4, atol=1e-4)
    # forward value of quantized is the chosen code, and lookup agrees
    assert torch.allclose(out.quantized, cb.codes[out.indices], atol=1e-6)
    assert torch.allclose(cb.lookup(out.indices), out.quantized, atol=1e-6)
    assert torch.equal(cb.code_vectors(), cb.codes)
    # losses are the mean squared distance to the chosen code
    chosen = ref.gather(1, out.indices.reshape(-1, 1)).mean()
    assert math.isclose(out.codebook_loss.item(), chosen.item(), rel_tol=1e-4)
    assert math.isclose(out.commitment_loss.item(), chosen.item(), rel_tol=1e-4)


@pytest.mark.parametrize("kind", ["euclidean", "hyperbolic"])
def test_gradients_flow_where_they_should(kind):
    cb = make(kind)
    z = (torch.randn(3, 20, D) * 0.7).requires_grad_(True)
    out = cb(z)
    # straight-through: d(sum w * quantized)/dz = w
    w = torch.randn_like(z)
    (gz,) = torch.autograd.grad((w * out.quantized).sum(), z, retain_graph=True)
    assert torch.allclose(gz, w)
    # commitment loss reaches z but not the codes
    gz, gc = torch.autograd.grad(out.commitment_loss, [z, cb.codes], retain_graph=True, allow_unused=True)
    assert gz.abs().sum() > 0 and (gc is None or gc.abs().sum() == 0)
    # codebook loss reaches the chosen codes only, not z
    gz, gc = torch.autograd.grad(out.codebook_loss, [z, cb.codes], retain_graph=True, allow_unused=True)
    assert gz is None or gz.abs().sum() == 0
    used = torch.zeros(K, dtype=torch.bool)
    used[out.indices.unique()] = True
    assert (gc[used].abs().sum(-1) > 0).all() and (gc[~used] == 0).all()
    # distances (for the soft priors) are differentiable in both
    gz, gc = torch.autograd.grad(soft_assign(out.distances)[..., 0].sum(), [z, cb.codes])
    assert gz.abs().sum() > 0 and gc.abs().sum() > 0


@pytest.mark.parametrize("kind", ["euclidean", "hyperbolic"])
def test_training_pulls_codes_and_encoder_together(kind):
    """A few Adam steps on codebook + commitment loss shrink the quantisation error."""
    cb = make(kind)
    z = (torch.randn(200, D) * 0.7).requires_grad_(True)
    opt = torch.optim.Adam([z, *cb.parameters()], lr=1e-2)
    first = None
    for _ in range(30):
        out = cb(z)
        loss = out.codebook_loss + 0.25 * out.commitment_loss
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * first


def test_learned_curvature_gets_a_gradient():
    cb = make("hyperbolic", curvature=0.5, learn_curvature=True)
    assert math.isclose(cb.curvature.item(), 0.5, rel_tol=1e-6)
    out = cb(torch.randn(40, D))
    (out.codebook_loss + out.commitment_loss).backward()
    assert cb.raw_curvature.grad is not None and cb.raw_curvature.grad.abs() > 0
    assert "raw_curvature" in dict(cb.named_parameters())
    fixed = make("hyperbolic")
    assert not any("curvature" in n for n, _ in fixed.named_parameters())


@pytest.mark.parametrize("kind", ["euclidean", "hyperbolic"])
def test_usage_ema_and_dead_code_reset(kind):
    cb = make(kind, usage_decay=0.5, dead_code_threshold=1e-3)
    assert torch.allclose(cb.usage, torch.full((K,), 1 / K))
    cb.eval()
    z = torch.randn(64, D) * 0.7
    cb(z)
    assert torch.allclose(cb.usage, torch.full((K,), 1 / K)), "usage must not change in eval mode"
    cb.train()
    # feed only vectors sitting on codes 0..3: after enough steps every other code is dead
    zs = cb.codes.detach()[torch.arange(4).repeat(16)]
    for _ in range(20):
        cb(zs)
    assert torch.allclose(cb.usage[:4], torch.full((4,), 0.25), atol=1e-4)
    assert torch.equal(cb.dead_codes(), torch.arange(K) >= 4)
    before = cb.codes.detach().clone()
    batch = torch.randn(100, D) * 3
    n = cb.reset_dead_codes(batch)
    assert n == K - 4
    after = cb.codes.detach()
    assert torch.equal(after[:4], before[:4]), "live codes must not change"
    assert (after[4:] != before[4:]).any(-1).all()
    # reset codes are distinct rows of the batch, with a fresh grace period
    matches = (after[4:, None] == batch[None]).all(-1)
    assert (matches.sum(-1) == 1).all() and (matches.sum(0) <= 1).all()
    assert not cb.dead_codes().any()
    assert cb.reset_dead_codes(batch) == 0


def test_bf16_input_and_shape_errors():
    cb = make("hyperbolic")
    z = torch.randn(2, 5, D).bfloat16()
    out = cb(z)
    assert out.quantized.dtype == torch.bfloat16 and out.distances.dtype == torch.float32
    assert torch.equal(out.indices, cb(z.float()).indices)
    with pytest.raises(ValueError, match=r"expected z \[\.\.\., 8\]"):
        cb(torch.randn(3, D + 1))
    with pytest.raises(IndexError):
        cb.lookup(torch.tensor([K]))
    with pytest.raises(ValueError, match="temperature"):
        soft_assign(out.distances, 0.0)


@pytest.mark.parametrize("kind", ["euclidean", "hyperbolic"])
def test_autocast_does_not_change_the_choice(kind):
    cb = make(kind)
    z = torch.randn(500, D) * 0.7
    ref = cb(z)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = cb(z)
    assert out.distances.dtype == torch.float32
    assert torch.equal(out.indices, ref.indices)
    assert torch.allclose(out.distances, ref.distances)


def test_default_init_is_small_and_distinct():
    for cb in (EuclideanCodebook(512, 64), HyperbolicCodebook(512, 64)):
        norms = cb.codes.detach().norm(dim=-1)
        assert norms.max() < 0.05
        assert torch.cdist(cb.codes.detach(), cb.codes.detach()).add(torch.eye(512)).min() > 0


def test_soft_assign_is_a_softmax_of_negative_distances():
    d = torch.tensor([[0.0, 1.0, 2.0]])
    p = soft_assign(d, temperature=0.5)
    expected = torch.exp(-d / 0.5) / torch.exp(-d / 0.5).sum()
    assert torch.allclose(p, expected)
    assert p.argmax() == 0


def test_hyperbolic_clip_norm_and_large_inputs():
    cb = make("hyperbolic", clip_norm=2.0)
    z = torch.randn(30, D) * 10  # far outside: clipped to tangent norm 2 before the ball
    out = cb(z)
    clipped = z * (2.0 / z.norm(dim=-1, keepdim=True))
    assert torch.equal(out.indices, brute_force_sqdist(cb, clipped).argmin(-1))
    # without clipping, tangent norms ~14 (points within 1e-12 of the boundary, where float64 ball points
    # already saturate) still quantise correctly; reference: elementwise law of cosines in float64
    cb = make("hyperbolic")
    z = torch.randn(30, D) * 5
    out = cb(z)
    ref = tangent_dist(z.double()[:, None], cb.codes.detach().double()[None], 1.0) ** 2
    chosen = ref.gather(1, out.indices[:, None]).squeeze(1)
    assert torch.all(chosen <= ref.min(-1).values * (1 + 1e-4))

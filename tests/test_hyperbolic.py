"""Poincare-ball geometry: metric axioms, map inverses, Mobius identities, pairwise/tangent forms agree."""

import math

import pytest
import torch

from llmar.projection.hyperbolic import (
    dist,
    expmap,
    expmap0,
    logmap,
    logmap0,
    mobius_add,
    pairwise_dist,
    pairwise_tangent_dist,
    project,
    tangent_dist,
)

pytestmark = pytest.mark.usefixtures("one_thread")


CURVATURES = [0.1, 1.0, 3.0]
F64 = torch.float64


def ball_points(n: int, d: int, c: float, spread: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Random points of the ball, up to a few units of geodesic distance from the origin."""
    g = torch.Generator().manual_seed(seed)
    return expmap0(torch.randn(n, d, generator=g, dtype=F64) * spread / math.sqrt(c * d), c)


@pytest.mark.parametrize("c", CURVATURES)
def test_distance_is_a_metric(c):
    x, y, z = (ball_points(200, 5, c, spread=2.0, seed=s) for s in (1, 2, 3))
    dxy, dyx = dist(x, y, c), dist(y, x, c)
    assert torch.allclose(dxy, dyx, atol=1e-10)
    assert dxy.min() > 0
    assert dist(x, x, c).abs().max() < 1e-6
    assert (dist(x, z, c) <= dxy + dist(y, z, c) + 1e-9).all()
    # and it is not just any metric: matches the Mobius form 2/sqrt(c) artanh(sqrt(c) |(-x) (+) y|)
    mobius_form = 2 / math.sqrt(c) * torch.atanh(math.sqrt(c) * mobius_add(-x, y, c).norm(dim=-1))
    assert torch.allclose(dxy, mobius_form, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("c", CURVATURES)
def test_distance_from_origin_is_twice_tangent_norm(c):
    v = torch.randn(50, 4, dtype=F64) / math.sqrt(c)
    assert torch.allclose(dist(torch.zeros(4, dtype=F64), expmap0(v, c), c), 2 * v.norm(dim=-1), atol=1e-9)


@pytest.mark.parametrize("c", CURVATURES)
def test_exp_log_invert_each_other(c):
    v = torch.randn(100, 6, dtype=F64) / math.sqrt(c)
    x = expmap0(v, c)
    assert (x.norm(dim=-1) < 1 / math.sqrt(c)).all()
    assert torch.allclose(logmap0(x, c), v, atol=1e-9)
    assert torch.allclose(expmap0(logmap0(x, c), c), x, atol=1e-9)
    base, y = ball_points(100, 6, c, seed=4), ball_points(100, 6, c, seed=5)
    assert torch.allclose(expmap(base, logmap(base, y, c), c), y, atol=1e-9)
    w = torch.randn(100, 6, dtype=F64) * 0.2 / math.sqrt(c)
    assert torch.allclose(logmap(base, expmap(base, w, c), c), w, atol=1e-9)
    # the log map's Riemannian length is the geodesic distance: lambda_x |log_x(y)| = d(x, y)
    lam = 2 / (1 - c * base.pow(2).sum(-1))
    assert torch.allclose(lam * logmap(base, y, c).norm(dim=-1), dist(base, y, c), atol=1e-8)


@pytest.mark.parametrize("c", CURVATURES)
def test_mobius_identity_and_inverse(c):
    x, y = ball_points(50, 3, c, seed=6), ball_points(50, 3, c, seed=7)
    assert torch.allclose(mobius_add(x, torch.zeros_like(x), c), x, atol=1e-12)
    assert torch.allclose(mobius_add(torch.zeros_like(x), x, c), x, atol=1e-12)
    assert mobius_add(x, -x, c).abs().max() < 1e-12
    assert mobius_add(-x, x, c).abs().max() < 1e-12
    # left cancellation law: (-x) (+) (x (+) y) = y; fails for plain addition or a wrong denominator
    assert torch.allclose(mobius_add(-x, mobius_add(x, y, c), c), y, atol=1e-9)
    assert not torch.allclose(mobius_add(x, y, c), x + y, atol=1e-3)


def test_project_and_curvature_validation():
    x = torch.randn(10, 4) * 10
    p = project(x, 2.0)
    assert (p.norm(dim=-1) < 1 / math.sqrt(2.0)).all()
    inside = torch.randn(10, 4) * 0.01
    assert torch.equal(project(inside, 2.0), inside)
    with pytest.raises(ValueError, match="curvature"):
        dist(x, x, -1.0)


@pytest.mark.parametrize("c", CURVATURES)
def test_pairwise_matches_elementwise(c):
    x, y = ball_points(300, 64, c, spread=3.0, seed=8), ball_points(40, 64, c, spread=3.0, seed=9)
    ref = dist(x[:, None], y[None], c)
    assert ref.shape == (300, 40)
    assert torch.allclose(pairwise_dist(x, y, c), ref, atol=1e-8)
    assert torch.allclose(pairwise_dist(x.float(), y.float(), c).double(), ref, atol=2e-3)


@pytest.mark.parametrize("c", CURVATURES)
def test_tangent_distance_equals_ball_distance(c):
    u, v = torch.randn(200, 16, dtype=F64) / math.sqrt(c), torch.randn(30, 16, dtype=F64) / math.sqrt(c)
    ball = dist(expmap0(u, c)[:, None], expmap0(v, c)[None], c)
    assert torch.allclose(tangent_dist(u[:, None], v[None], c), ball, atol=1e-8)
    assert torch.allclose(pairwise_tangent_dist(u, v, c), ball, atol=1e-8)
    assert torch.allclose(pairwise_tangent_dist(u, v, c, squared=True), ball**2, atol=1e-7)
    assert tangent_dist(u, u, c).abs().max() < 1e-6


def test_tangent_distance_float32_far_from_origin():
    """Tangent norms ~10 (points within 1e-8 of the boundary): float32 stays accurate, even for nearby pairs."""
    torch.manual_seed(0)
    u = torch.randn(64, 64) * 1.2
    v = torch.cat([u[:32] + 1e-3 * torch.randn(32, 64), torch.randn(32, 64) * 1.2])
    ref = tangent_dist(u.double()[:, None], v.double()[None], 1.0)
    assert pairwise_tangent_dist(u, v, 1.0).double().sub(ref).abs().max() < 1e-3 * ref.max()
    assert tangent_dist(u, v, 1.0).double().sub(ref.diagonal()).abs().max() < 1e-3
    # the nearest neighbour of each nearby pair is found in float32
    assert torch.equal(pairwise_tangent_dist(u[:32], v, 1.0).argmin(-1), torch.arange(32))


def test_half_precision_inputs_and_learned_curvature_grad():
    x = ball_points(20, 8, 1.0, seed=10)
    d_bf16 = dist(x.bfloat16(), x.flip(0).bfloat16(), 1.0)
    assert d_bf16.dtype == torch.bfloat16
    assert torch.allclose(d_bf16.double(), dist(x, x.flip(0), 1.0), rtol=0.05, atol=0.05)
    assert expmap0(torch.randn(5, 8).bfloat16(), 1.0).dtype == torch.bfloat16
    c = torch.tensor(0.7, requires_grad=True)
    u, v = torch.randn(10, 4), torch.randn(10, 4)
    tangent_dist(u, v, c).sum().backward()
    assert c.grad is not None and c.grad.abs() > 0
    with pytest.raises(ValueError, match="scalar"):
        dist(x, x, torch.ones(2))


def test_gradients_finite_at_coincident_points():
    u = torch.randn(5, 4, requires_grad=True)
    v = u.detach().clone().requires_grad_(True)
    tangent_dist(u, v, 1.0, squared=True).sum().backward()
    assert torch.isfinite(u.grad).all() and torch.isfinite(v.grad).all()
    z = torch.zeros(3, 4, requires_grad=True)
    (dist(expmap0(z, 1.0), expmap0(torch.ones(3, 4) * 0.1, 1.0), 1.0).sum()).backward()
    assert torch.isfinite(z.grad).all()

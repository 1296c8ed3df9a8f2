"""Poincare-ball geometry of curvature -c (c > 0): Mobius addition, exp/log maps, geodesic distances.

Conventions (as in Ganea et al. 2018 / geoopt): the ball is {x : c |x|^2 < 1}, the conformal factor is
lambda_x = 2 / (1 - c |x|^2), so the origin's tangent vector v reaches expmap0(v) at distance 2 |v|.

Every function accepts float32, float64 or bfloat16/float16 tensors; half precisions are computed in
float32 internally and the result is cast back to the input dtype. The pairwise functions accumulate their
one [N, K] Gram matrix in float64 (cheap, and it removes the cancellation that decides nearest codes). ``c`` is a python float or a 0-d
tensor (it may require grad, e.g. a learned curvature). Norms are clamped away from 0, artanh arguments
away from 1, and points returned on the ball are projected to radius (1 - eps) / sqrt(c).

Besides the ball functions there are ``tangent_dist`` / ``pairwise_tangent_dist``: the geodesic distance
between expmap0(u) and expmap0(v) computed from the tangent vectors u, v directly (hyperbolic law of
cosines). They never materialise points near the boundary, so they stay accurate for tangent norms
where float32 tanh already rounds to 1 (|u| > ~8 / sqrt(c)); the codebook uses them.
"""

from __future__ import annotations

import torch
from torch import Tensor

Curvature = float | Tensor

MIN_NORM = 1e-15
# distance of the projection radius from the boundary, relative: 1 - eps of 1 / sqrt(c)
BALL_EPS = {torch.float32: 1e-5, torch.float64: 1e-10}
# sqrt(c) * (distance from origin) is clamped here so that sinh(a) sinh(b) stays finite in float32
# (e^(a+b)/4 < 3e38); i.e. tangent vectors longer than 22 / sqrt(c) are treated as having that length
MAX_TANGENT_ARG = 44.0


def _compute_dtype(*xs: Tensor) -> torch.dtype:
    return torch.float64 if any(x.dtype == torch.float64 for x in xs) else torch.float32


def _out_dtype(*xs: Tensor) -> torch.dtype:
    dtype = xs[0].dtype
    for x in xs[1:]:
        dtype = torch.promote_types(dtype, x.dtype)
    return dtype


def _curvature(c: Curvature, like: Tensor) -> Tensor:
    """c as a tensor on ``like``'s device and dtype (keeps the autograd graph of a learned c)."""
    if isinstance(c, Tensor):
        if c.numel() != 1:
            raise ValueError(f"hyperbolic: curvature must be a scalar, got shape {tuple(c.shape)}")
        return c.reshape(()).to(device=like.device, dtype=like.dtype)
    c = float(c)
    if not c > 0:
        raise ValueError(f"hyperbolic: curvature must be > 0, got {c}")
    return torch.tensor(c, device=like.device, dtype=like.dtype)


def _norm(x: Tensor) -> Tensor:
    # clamp before sqrt: gradient 0 (not nan) at the origin
    return x.pow(2).sum(-1, keepdim=True).clamp_min(MIN_NORM**2).sqrt()


def _artanh(x: Tensor) -> Tensor:
    eps = BALL_EPS[x.dtype]
    return torch.atanh(x.clamp(-1 + eps, 1 - eps))


def _arcosh1p(t: Tensor) -> Tensor:
    """arcosh(1 + t) for t >= 0, accurate for small t (no 1 + t rounding) and finite for t up to float max."""
    t = t.clamp_min(MIN_NORM)
    return torch.log1p(t + t.sqrt() * (t + 2).sqrt())


def _project(x: Tensor, c: Tensor) -> Tensor:
    max_norm = (1 - BALL_EPS[x.dtype]) / c.sqrt()
    norm = _norm(x)
    return torch.where(norm > max_norm, x / norm * max_norm, x)


def _mobius_add(x: Tensor, y: Tensor, c: Tensor) -> Tensor:
    x2 = x.pow(2).sum(-1, keepdim=True)
    y2 = y.pow(2).sum(-1, keepdim=True)
    xy = (x * y).sum(-1, keepdim=True)
    num = (1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y
    # denominator >= (1 - c|x||y|)^2 > 0 inside the ball; clamp for points rounded onto the boundary
    den = (1 + 2 * c * xy + c**2 * x2 * y2).clamp_min(MIN_NORM)
    return _project(num / den, c)


def project(x: Tensor, c: Curvature) -> Tensor:
    """Pull points back inside the ball, to radius at most (1 - eps) / sqrt(c)."""
    xf = x.to(_compute_dtype(x))
    return _project(xf, _curvature(c, xf)).to(x.dtype)


def mobius_add(x: Tensor, y: Tensor, c: Curvature) -> Tensor:
    """Mobius addition x (+) y (broadcasting over leading dims)."""
    dt = _compute_dtype(x, y)
    xf, yf = x.to(dt), y.to(dt)
    return _mobius_add(xf, yf, _curvature(c, xf)).to(_out_dtype(x, y))


def expmap0(v: Tensor, c: Curvature) -> Tensor:
    """Exponential map at the origin: tangent vector v -> point tanh(sqrt(c)|v|) v / (sqrt(c)|v|)."""
    vf = v.to(_compute_dtype(v))
    cc = _curvature(c, vf)
    sqrt_c = cc.sqrt()
    norm = _norm(vf)
    return _project(torch.tanh(sqrt_c * norm) * vf / (sqrt_c * norm), cc).to(v.dtype)


def logmap0(x: Tensor, c: Curvature) -> Tensor:
    """Logarithmic map at the origin (inverse of expmap0): point x -> tangent vector at 0."""
    xf = x.to(_compute_dtype(x))
    sqrt_c = _curvature(c, xf).sqrt()
    norm = _norm(xf)
    return (_artanh(sqrt_c * norm) * xf / (sqrt_c * norm)).to(x.dtype)


def expmap(x: Tensor, v: Tensor, c: Curvature) -> Tensor:
    """Exponential map at x: follow the geodesic from x with initial velocity v for unit time."""
    dt = _compute_dtype(x, v)
    xf, vf = x.to(dt), v.to(dt)
    cc = _curvature(c, xf)
    sqrt_c = cc.sqrt()
    lam = 2 / (1 - cc * xf.pow(2).sum(-1, keepdim=True)).clamp_min(MIN_NORM)
    norm = _norm(vf)
    step = torch.tanh(sqrt_c * lam * norm / 2) * vf / (sqrt_c * norm)
    return _mobius_add(xf, step, cc).to(_out_dtype(x, v))


def logmap(x: Tensor, y: Tensor, c: Curvature) -> Tensor:
    """Logarithmic map at x (inverse of expmap at x): point y -> tangent vector at x."""
    dt = _compute_dtype(x, y)
    xf, yf = x.to(dt), y.to(dt)
    cc = _curvature(c, xf)
    sqrt_c = cc.sqrt()
    lam = 2 / (1 - cc * xf.pow(2).sum(-1, keepdim=True)).clamp_min(MIN_NORM)
    m = _mobius_add(-xf, yf, cc)
    norm = _norm(m)
    return (2 / (sqrt_c * lam) * _artanh(sqrt_c * norm) * m / norm).to(_out_dtype(x, y))


def dist(x: Tensor, y: Tensor, c: Curvature) -> Tensor:
    """Geodesic distance between points x and y of the ball, broadcasting; shape [...] (last dim reduced).

    Equal to 2/sqrt(c) artanh(sqrt(c) |(-x) (+) y|), computed as
    arcosh(1 + 2c|x - y|^2 / ((1 - c|x|^2)(1 - c|y|^2))) / sqrt(c): the difference x - y is taken directly,
    so nearby points near the boundary lose less precision than through Mobius addition.
    """
    dt = _compute_dtype(x, y)
    cc = _curvature(c, x.to(dt))
    xf, yf = _project(x.to(dt), cc), _project(y.to(dt), cc)
    sq = (xf - yf).pow(2).sum(-1)
    den = ((1 - cc * xf.pow(2).sum(-1)) * (1 - cc * yf.pow(2).sum(-1))).clamp_min(MIN_NORM)
    return (_arcosh1p(2 * cc * sq / den) / cc.sqrt()).to(_out_dtype(x, y))


def pairwise_dist(x: Tensor, y: Tensor, c: Curvature) -> Tensor:
    """All geodesic distances between x [N, D] and y [K, D] -> [N, K].

    Uses cosh(sqrt(c) d) = 1 + 2c|x - y|^2 / ((1 - c|x|^2)(1 - c|y|^2)) with |x - y|^2 from one matmul,
    so memory is O(N K), never O(N K D).
    """
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"pairwise_dist: expected x [N, D] and y [K, D], got {tuple(x.shape)} and {tuple(y.shape)}")
    dt = _compute_dtype(x, y)
    cc = _curvature(c, x.to(dt))
    xf, yf = _project(x.to(dt), cc), _project(y.to(dt), cc)
    x2 = xf.pow(2).sum(-1, keepdim=True)  # [N, 1]
    y2 = yf.pow(2).sum(-1, keepdim=True).T  # [1, K]
    # |x|^2 + |y|^2 - 2<x, y> cancels for nearby points: accumulate it in float64 (an [N, K] matrix only)
    x64, y64 = xf.double(), yf.double()
    sq = (x64.pow(2).sum(-1, keepdim=True) + y64.pow(2).sum(-1) - 2 * x64 @ y64.T).clamp_min(0).to(dt)
    den = ((1 - cc * x2) * (1 - cc * y2)).clamp_min(MIN_NORM)
    return (_arcosh1p(2 * cc * sq / den) / cc.sqrt()).to(_out_dtype(x, y))


def _tangent_polar(u: Tensor, sqrt_c: Tensor) -> tuple[Tensor, Tensor]:
    """(sqrt(c) * distance of expmap0(u) from the origin, unit direction of u)."""
    norm = _norm(u)
    return (2 * sqrt_c * norm).clamp_max(MAX_TANGENT_ARG), u / norm


def tangent_dist(u: Tensor, v: Tensor, c: Curvature, squared: bool = False) -> Tensor:
    """Geodesic distance between expmap0(u) and expmap0(v), from the tangent vectors (broadcasting).

    Hyperbolic law of cosines with sides r = 2|u|, 2|v| and the angle between u and v at the origin,
    rewritten without cancellation: cosh(sqrt(c) d) = 1 + t,
    t = 2 sinh^2((a - b) / 2) + sinh(a) sinh(b) |u/|u| - v/|v||^2 / 2,  a = 2 sqrt(c)|u|, b = 2 sqrt(c)|v|.
    ``squared=True`` returns d^2 (smooth at d = 0, what the VQ losses use).
    """
    dt = _compute_dtype(u, v)
    uf, vf = u.to(dt), v.to(dt)
    sqrt_c = _curvature(c, uf).sqrt()
    a, du = _tangent_polar(uf, sqrt_c)
    b, dv = _tangent_polar(vf, sqrt_c)
    t = 2 * torch.sinh((a - b) / 2).pow(2) + torch.sinh(a) * torch.sinh(b) * (du - dv).pow(2).sum(-1, keepdim=True) / 2
    d = _arcosh1p(t.squeeze(-1)) / sqrt_c
    return (d.pow(2) if squared else d).to(_out_dtype(u, v))


def pairwise_tangent_dist(u: Tensor, v: Tensor, c: Curvature, squared: bool = False) -> Tensor:
    """``tangent_dist`` for all pairs of u [N, D] and v [K, D] -> [N, K], O(N K) memory."""
    if u.dim() != 2 or v.dim() != 2 or u.shape[1] != v.shape[1]:
        raise ValueError(
            f"pairwise_tangent_dist: expected u [N, D] and v [K, D], got {tuple(u.shape)} and {tuple(v.shape)}"
        )
    dt = _compute_dtype(u, v)
    uf, vf = u.to(dt), v.to(dt)
    sqrt_c = _curvature(c, uf).sqrt()
    a, _ = _tangent_polar(uf, sqrt_c)  # [N, 1]
    b, _ = _tangent_polar(vf, sqrt_c)
    b = b.T  # [1, K]
    # 1 - cos(angle) cancels for nearby directions, and sinh(a) sinh(b) amplifies the error enormously
    # far from the origin: take it in float64 from float64-normalised directions ([N, K] only)
    u64, v64 = uf.double(), vf.double()
    du64, dv64 = u64 / _norm(u64), v64 / _norm(v64)
    one_minus_cos = (1 - du64 @ dv64.T).clamp_min(0).to(dt)
    t = 2 * torch.sinh((a - b) / 2).pow(2) + torch.sinh(a) * torch.sinh(b) * one_minus_cos
    d = _arcosh1p(t) / sqrt_c
    return (d.pow(2) if squared else d).to(_out_dtype(u, v))

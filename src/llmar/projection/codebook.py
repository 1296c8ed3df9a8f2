"""Vector-quantisation codebooks: Euclidean (the usual VQ-VAE) and hyperbolic (Poincare ball).

Both share one interface: ``forward(z [..., D]) -> QuantizerOutput``, ``code_vectors()``, ``lookup``,
a usage EMA updated in training mode and ``reset_dead_codes``. ``quantized`` (and ``lookup``) always
lives in Euclidean/tangent space, so the decoder and the projection to the LLM width see plain vectors.

Losses are per vector (sum over D, mean over vectors), in both codebooks, so one set of loss weights
serves the ablation: Euclidean |sg(z) - e|^2, hyperbolic d(sg(h), q)^2 with h = expmap0(z), q = expmap0(e).
Near the origin d(expmap0(u), expmap0(v)) ~ 2|u - v|, so the hyperbolic losses are ~4x the Euclidean ones
for small vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llmar.projection.hyperbolic import expmap0, pairwise_tangent_dist, tangent_dist


@dataclass
class QuantizerOutput:
    """What a codebook returns for encoder output z [..., D].

    quantized: [..., D] straight-through code vectors (value = the code, gradient = identity to z).
    indices: [...] long, the nearest code.
    distances: [..., K] squared distance (squared L2 / squared geodesic) from z to every code; differentiable
        in z and the codes, turn it into soft assignments with ``soft_assign``.
    codebook_loss, commitment_loss: scalars (mean over vectors of the squared distance to the chosen code).
    """

    quantized: Tensor
    indices: Tensor
    distances: Tensor
    codebook_loss: Tensor
    commitment_loss: Tensor


def soft_assign(distances: Tensor, temperature: float = 1.0) -> Tensor:
    """Soft code assignments softmax(-distances / temperature) over the last dim (what the priors use)."""
    if not temperature > 0:
        raise ValueError(f"soft_assign: temperature must be > 0, got {temperature}")
    return F.softmax(-distances.float() / temperature, dim=-1)


class _Codebook(nn.Module):
    """Shared machinery: code parameters, nearest-code search, losses, usage EMA, dead-code reset.

    Subclasses define ``_pairwise(z [N, D]) -> [N, K]`` and ``_sqdist(z [N, D], e [N, D]) -> [N]``
    (both squared distances) and may override ``_prepare(z)`` (the vectors actually compared to codes).
    """

    def __init__(
        self,
        num_codes: int,
        dim: int,
        dead_code_threshold: float = 1e-4,
        usage_decay: float = 0.99,
        init_scale: float | None = None,
    ) -> None:
        super().__init__()
        if num_codes < 1 or dim < 1:
            raise ValueError(f"{type(self).__name__}: num_codes and dim must be >= 1, got {num_codes}, {dim}")
        if not 0 <= usage_decay < 1:
            raise ValueError(f"{type(self).__name__}: usage_decay must be in [0, 1), got {usage_decay}")
        self.num_codes, self.dim = num_codes, dim
        self.dead_code_threshold, self.usage_decay = dead_code_threshold, usage_decay
        # small and distinct, as in the original VQ-VAE: uniform(-1/K, 1/K)
        scale = 1.0 / num_codes if init_scale is None else init_scale
        self.codes = nn.Parameter(torch.empty(num_codes, dim).uniform_(-scale, scale))
        # EMA of the fraction of vectors assigned to each code; starts at uniform usage so that codes
        # get a grace period of ~log(1 / (K * threshold)) / (1 - decay) steps before counting as dead
        self.register_buffer("usage", torch.full((num_codes,), 1.0 / num_codes))

    # -- to be defined by subclasses
    def _pairwise(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def _sqdist(self, z: Tensor, e: Tensor) -> Tensor:
        raise NotImplementedError

    def _prepare(self, z: Tensor) -> Tensor:
        return z

    # -- public interface
    def code_vectors(self) -> Tensor:
        """[K, D] code vectors in Euclidean/tangent space (what gets projected to the LLM width)."""
        return self.codes

    def lookup(self, indices: Tensor) -> Tensor:
        """indices [...] -> code vectors [..., D], in the same space as ``quantized``."""
        if indices.numel() and (indices.min() < 0 or indices.max() >= self.num_codes):
            raise IndexError(
                f"{type(self).__name__}.lookup: indices must be in [0, {self.num_codes}), "
                f"got range [{int(indices.min())}, {int(indices.max())}]"
            )
        return F.embedding(indices.long(), self.code_vectors())

    def forward(self, z: Tensor) -> QuantizerOutput:
        # under autocast the distance matmul would run in bf16/fp16 and pick wrong codes
        with torch.autocast(z.device.type, enabled=False):
            return self._quantize(z)

    def _quantize(self, z: Tensor) -> QuantizerOutput:
        if z.dim() < 1 or z.shape[-1] != self.dim:
            raise ValueError(f"{type(self).__name__}: expected z [..., {self.dim}], got shape {tuple(z.shape)}")
        lead = z.shape[:-1]
        zf = z.reshape(-1, self.dim).to(self.codes.dtype)  # bf16 encoders: quantise in float32
        zc = self._prepare(zf)
        distances = self._pairwise(zc)  # [N, K]
        indices = distances.argmin(dim=-1)
        e = F.embedding(indices, self.codes)  # not codes[indices]: its backward adds with atomics (run-to-run noise)
        codebook_loss = self._sqdist(zc.detach(), e).mean()
        commitment_loss = self._sqdist(zc, e.detach()).mean()
        # straight-through: forward value is the code, backward is the identity to z
        quantized = zf + (e - zf).detach()
        if self.training:
            self._update_usage(indices)
        return QuantizerOutput(
            quantized=quantized.reshape(*lead, self.dim).to(z.dtype),
            indices=indices.reshape(lead),
            distances=distances.reshape(*lead, self.num_codes),
            codebook_loss=codebook_loss,
            commitment_loss=commitment_loss,
        )

    @torch.no_grad()
    def _update_usage(self, indices: Tensor) -> None:
        if indices.numel() == 0:
            return
        frac = torch.bincount(indices, minlength=self.num_codes).to(self.usage.dtype) / indices.numel()
        self.usage.mul_(self.usage_decay).add_(frac, alpha=1 - self.usage_decay)

    def dead_codes(self) -> Tensor:
        """Bool mask [K] of codes whose usage EMA is below ``dead_code_threshold``."""
        return self.usage < self.dead_code_threshold

    @torch.no_grad()
    def reset_dead_codes(self, z: Tensor) -> int:
        """Re-initialise dead codes from random rows of the encoder batch z [..., D]; returns how many.

        Reset codes get uniform usage again (a fresh grace period). Their optimiser state (e.g. Adam
        moments) is not touched. Tip: ``usage.zero_()`` then ``reset_dead_codes(z)`` initialises the whole
        codebook from data.
        """
        if z.shape[-1] != self.dim:
            raise ValueError(
                f"{type(self).__name__}.reset_dead_codes: expected z [..., {self.dim}], got {tuple(z.shape)}"
            )
        dead = self.dead_codes().nonzero().squeeze(-1)
        flat = self._prepare(z.reshape(-1, self.dim).to(self.codes.dtype))
        n_dead, n = dead.numel(), flat.shape[0]
        if n_dead == 0 or n == 0:
            return 0
        # distinct rows where the batch is large enough, so that reset codes do not coincide
        rows = torch.randperm(n, device=flat.device)[:n_dead] if n >= n_dead else torch.randint(n, (n_dead,))
        self.codes[dead] = flat[rows.to(flat.device)]
        self.usage[dead] = 1.0 / self.num_codes
        return n_dead


class EuclideanCodebook(_Codebook):
    """The usual VQ-VAE codebook: nearest code by squared L2, losses |sg(z) - e|^2 and |z - sg(e)|^2."""

    def _pairwise(self, z: Tensor) -> Tensor:
        e = self.codes
        return (z.pow(2).sum(-1, keepdim=True) + e.pow(2).sum(-1) - 2 * z @ e.T).clamp_min(0)

    def _sqdist(self, z: Tensor, e: Tensor) -> Tensor:
        return (z - e).pow(2).sum(-1)


class HyperbolicCodebook(_Codebook):
    """Codebook on the Poincare ball of curvature c.

    The encoder output z is mapped to the ball, h = expmap0(z); codes are stored as tangent vectors e at
    the origin (plain parameters, so ordinary Adam works) and live on the ball as q = expmap0(e). The
    nearest code is the one at the smallest geodesic distance; losses d(sg(h), q)^2 and d(h, sg(q))^2;
    the straight-through output z + (e - z).detach() is in the tangent space (e = logmap0(q) exactly).

    Distances are computed from the tangent vectors by the hyperbolic law of cosines
    (``pairwise_tangent_dist``), which equals the geodesic distance on the ball but stays accurate in
    float32 far from the origin, where points on the ball would round onto the boundary.

    Scale matters: far from the origin (tangent norm >> 1 / sqrt(c)) geodesics between nearby directions
    bend through the centre, so a code near the origin is closer to everything than a code next to the
    point, and small codes become hubs that take all assignments (measured: encoder norms ~6, c = 1 ->
    45% of codes used, 0.61 relative quantisation error, vs 0.005 Euclidean). Keep |z| around
    1 / sqrt(c), set ``clip_norm``, or learn c.

    clip_norm: optional feature clipping (Guo et al., CVPR 2022): z is rescaled to tangent norm at most
        clip_norm before the map to the ball (clip_norm = 1 with c = 1 fixes the case above).
    learn_curvature: c = softplus(raw) with raw a parameter initialised so that c = ``curvature``.
    """

    def __init__(
        self,
        num_codes: int,
        dim: int,
        curvature: float = 1.0,
        learn_curvature: bool = False,
        dead_code_threshold: float = 1e-4,
        usage_decay: float = 0.99,
        init_scale: float | None = None,
        clip_norm: float | None = None,
    ) -> None:
        super().__init__(num_codes, dim, dead_code_threshold, usage_decay, init_scale)
        if not curvature > 0:
            raise ValueError(f"HyperbolicCodebook: curvature must be > 0, got {curvature}")
        if clip_norm is not None and not clip_norm > 0:
            raise ValueError(f"HyperbolicCodebook: clip_norm must be > 0 or None, got {clip_norm}")
        self.clip_norm = clip_norm
        self.learn_curvature = learn_curvature
        if learn_curvature:
            # inverse softplus, so that softplus(raw) == curvature at init
            self.raw_curvature = nn.Parameter(torch.tensor(curvature + math.log(-math.expm1(-curvature))))
        else:
            self.register_buffer("fixed_curvature", torch.tensor(float(curvature)))

    @property
    def curvature(self) -> Tensor:
        """The curvature c (a 0-d tensor, differentiable when learned)."""
        return F.softplus(self.raw_curvature) if self.learn_curvature else self.fixed_curvature

    def code_points(self) -> Tensor:
        """[K, D] codes as points on the ball, expmap0(e)."""
        return expmap0(self.codes, self.curvature)

    def _prepare(self, z: Tensor) -> Tensor:
        if self.clip_norm is None:
            return z
        norm = z.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return z * (self.clip_norm / norm).clamp_max(1.0)

    def _pairwise(self, z: Tensor) -> Tensor:
        return pairwise_tangent_dist(z, self.codes, self.curvature, squared=True)

    def _sqdist(self, z: Tensor, e: Tensor) -> Tensor:
        return tangent_dist(z, e, self.curvature, squared=True)

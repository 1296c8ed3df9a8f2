"""Tests for the CTR-GCN-style baseline (small channels so the file runs in seconds)."""

from __future__ import annotations

import pytest
import torch

from llmar.baseline.ctrgcn import CTRGCN, GCNConfig
from llmar.data.layout import KINECT20, NTU25, generic_layout
from llmar.nn.graph import graph_subsets

torch.set_num_threads(1)

SMALL = GCNConfig(base_channels=8, num_stages=3)
FLORENCE15 = generic_layout(15, parents=[-1, 0, 1, 1, 3, 4, 1, 6, 7, 0, 9, 10, 0, 12, 13])


def _model(layout=NTU25, c=3, m=2, k=5, cfg=SMALL, seed=0) -> CTRGCN:
    torch.manual_seed(seed)
    return CTRGCN(k, layout, in_channels=c, num_bodies=m, config=cfg)


# -- graph in the model ---------------------------------------------------------------------------


def test_graph_is_a_buffer_with_learned_additive_part():
    model = _model()
    gcn = model.layers[0].gcn
    assert "layers.0.gcn.graph" in model.state_dict()
    assert "layers.0.gcn.graph" not in dict(model.named_parameters())  # fixed, not trained
    assert gcn.learned.requires_grad and torch.all(gcn.learned == 0)
    torch.testing.assert_close(gcn.graph, torch.from_numpy(graph_subsets(NTU25)))


def test_first_layer_is_local_on_the_graph():
    """With refinement off at init (alpha=0), one layer only mixes each joint with its tree
    neighbours: perturbing joint 0 of a chain leaves joints 2.. unchanged."""
    model = _model(layout=generic_layout(6), m=1).eval()
    x = torch.randn(2, 1, 8, 6, 3)
    x2 = x.clone()
    x2[..., 0, :] += 5.0
    layer = model.layers[0]

    def first(x):
        return layer(x.permute(0, 1, 4, 2, 3).reshape(2, 3, 8, 6))

    with torch.no_grad():
        d = (first(x) - first(x2)).abs().amax(dim=(0, 1, 2))
    assert d[0] > 0 and d[1] > 0
    torch.testing.assert_close(d[2:], torch.zeros(4))


# -- model --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout,c,m",
    [(NTU25, 3, 2), (NTU25, 2, 1), (KINECT20, 3, 1), (FLORENCE15, 3, 1), (generic_layout(9), 2, 3)],
    ids=["ntu25-3d-2b", "ntu25-2d-1b", "kinect20", "florence15", "chain9-2d-3b"],
)
def test_output_shape(layout, c, m):
    model = _model(layout, c, m, k=7)
    logits = model(torch.randn(3, m, 12, layout.num_joints, c))
    assert logits.shape == (3, 7) and torch.isfinite(logits).all()
    assert model.features(torch.randn(2, m, 12, layout.num_joints, c)).shape == (2, model.out_channels)


def test_bad_input_shape_is_a_clear_error():
    model = _model()
    with pytest.raises(ValueError, match="ntu25"):
        model(torch.randn(2, 2, 10, 20, 3))
    with pytest.raises(ValueError, match=r"\[B, M, T, V, C\]"):
        model(torch.randn(2, 10, 25, 3))


def test_zero_second_body_gives_no_nan():
    model = _model()
    x = torch.randn(4, 2, 16, 25, 3)
    x[:, 1] = 0.0  # everyone is alone: the second body slot is empty in the whole batch
    logits = model(x)
    logits.sum().backward()
    assert torch.isfinite(logits).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(x)).all()


def test_gradients_reach_every_parameter():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(4, 2, 16, 25, 3), torch.tensor([0, 1, 2, 3])
    # alpha starts at 0, so the refinement convs only get gradient once alpha has moved: take a step
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    dead = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not dead, f"no gradient for {dead}"


def test_overfits_tiny_batch():
    torch.manual_seed(0)
    model = _model(k=4, cfg=GCNConfig(base_channels=16, num_stages=3))
    x, y = torch.randn(8, 2, 16, 25, 3), torch.tensor([0, 1, 2, 3] * 2)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()  # with the running BN statistics, not the batch's
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    assert acc == 1.0


def _swap(x: torch.Tensor) -> torch.Tensor:
    return x.flip(1)


def test_body_order_does_not_change_logits():
    model = _model().eval()
    x = torch.randn(3, 2, 16, 25, 3)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(_swap(x)), rtol=1e-4, atol=1e-5)


def _trained_on_asymmetric_bodies(cfg: GCNConfig) -> CTRGCN:
    """A few training steps where body 2 is mostly smaller, so per-body statistics differ."""
    model = _model(cfg=cfg)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(3):
        x = torch.randn(4, 2, 16, 25, 3) * torch.tensor([1.0, 0.1]).view(1, 2, 1, 1, 1)
        opt.zero_grad()
        model(x).logsumexp(1).mean().backward()
        opt.step()
    return model.eval()


def test_shared_body_bn_keeps_body_order_invariance_after_training():
    x = torch.randn(3, 2, 16, 25, 3)
    shared = _trained_on_asymmetric_bodies(GCNConfig(base_channels=8, num_stages=3, share_body_bn=True))
    per_body = _trained_on_asymmetric_bodies(SMALL)
    with torch.no_grad():
        torch.testing.assert_close(shared(x), shared(_swap(x)), rtol=1e-4, atol=1e-5)
        # the published per-body data BN learns body-slot statistics, so order then matters
        assert (per_body(x) - per_body(_swap(x))).abs().max() > 1e-3


def test_default_parameter_count_matches_published_size():
    n = sum(p.numel() for p in CTRGCN(60, NTU25).parameters())
    assert 1_400_000 <= n <= 1_500_000, n

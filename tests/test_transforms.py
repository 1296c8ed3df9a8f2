import numpy as np
import pytest

from llmar.data.dataset import DataError
from llmar.data.layout import NTU25, generic_layout
from llmar.data.transforms import (
    align_view,
    center,
    crop_resample,
    normalize_scale,
    preprocess,
    random_rotation,
    random_scaling,
)


def _bones(seq, layout):
    c, p = np.array(layout.bones).T
    return np.linalg.norm(seq[..., c, :] - seq[..., p, :], axis=-1)


def random_seq(m=2, t=30, v=25, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(m, t, v, c)) + 3.0).astype(np.float32)


def test_center_puts_spine_of_first_frame_at_origin_and_keeps_absent_body_zero():
    seq = random_seq()
    seq[1] = 0
    out = center(seq, NTU25)
    np.testing.assert_allclose(out[0, 0, NTU25.center], 0, atol=1e-6)
    assert not out[1].any()


def test_align_view_makes_spine_vertical_and_hips_horizontal():
    seq = random_seq(m=1)
    out = align_view(center(seq, NTU25), NTU25)
    spine = out[0, 0, NTU25.spine[1]] - out[0, 0, NTU25.spine[0]]
    hips = out[0, 0, NTU25.hips[1]] - out[0, 0, NTU25.hips[0]]
    np.testing.assert_allclose(spine / np.linalg.norm(spine), [0, 1, 0], atol=1e-5)
    assert abs(hips[2]) < 1e-5 and hips[0] > 0
    np.testing.assert_allclose(_bones(out, NTU25), _bones(seq, NTU25), rtol=1e-4)  # rigid


def test_resample_hits_length_and_endpoints():
    seq = np.arange(10, dtype=np.float32).reshape(1, 10, 1, 1).repeat(3, -1)
    out = crop_resample(seq, 64)
    assert out.shape == (1, 64, 1, 3)
    assert out[0, 0, 0, 0] == 0 and out[0, -1, 0, 0] == 9
    assert np.all(np.diff(out[0, :, 0, 0]) >= 0)
    assert crop_resample(seq[:, :1], 8).shape == (1, 8, 1, 3)  # one frame is repeated


def test_rotation_is_rigid_and_scale_normalisation_gives_unit_bones():
    rng = np.random.default_rng(0)
    seq = random_seq(m=1)
    rot = random_rotation(seq, 30, rng)
    np.testing.assert_allclose(_bones(rot, NTU25), _bones(seq, NTU25), rtol=1e-4)
    assert not np.allclose(rot, seq)
    np.testing.assert_allclose(_bones(normalize_scale(seq, NTU25), NTU25).mean(), 1.0, rtol=1e-5)


def test_preprocess_any_layout_2d_and_bad_input():
    layout = generic_layout(7)
    seq = random_seq(m=3, t=5, v=7, c=2)
    out = preprocess(seq, layout, num_frames=16, max_bodies=2, train=True, rotation_deg=20,
                     rng=np.random.default_rng(1))
    assert out.shape == (2, 16, 7, 2) and out.dtype == np.float32
    bad = seq.copy()
    bad[0, 2, 3, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        preprocess(bad, layout)
    with pytest.raises(DataError, match="at least one frame"):
        preprocess(seq[:, :0], layout)


def test_random_scaling_scales_bones_in_range_and_is_off_without_drawing():
    seq = normalize_scale(center(random_seq(), NTU25), NTU25)
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert random_scaling(seq, (1.0, 1.0), rng) is seq
    assert rng.bit_generator.state == state  # off: the augmentation stream of older runs is unchanged
    factors = []
    for _ in range(20):
        out = random_scaling(seq, (0.8, 1.2), rng)
        before = _bones(seq, NTU25)
        ratio = _bones(out, NTU25)[before > 0] / before[before > 0]
        np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-5)  # one factor for every bone
        factors.append(ratio.flat[0])
    assert 0.8 <= min(factors) < 0.9 and 1.1 < max(factors) <= 1.2
    a = preprocess(random_seq(), NTU25, train=True, scale_range=(0.5, 1.5), rng=np.random.default_rng(0))
    b = preprocess(random_seq(), NTU25, train=True, rng=np.random.default_rng(0))
    assert not np.allclose(a, b) and a.shape == b.shape

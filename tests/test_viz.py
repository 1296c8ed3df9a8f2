"""Skeleton animations: valid GIF/PNG files with one GIF frame per drawn frame, bodies, layouts, errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from llmar.cli import main
from llmar.data.layout import NTU25, generic_layout
from llmar.evaluation import viz
from llmar.evaluation.viz import AnimationFormatError, animate_skeleton, frame_indices, layout_for

RED = np.array([214, 39, 40])  # matplotlib's tab:red, the second body's colour


def ntu_two_bodies(t: int = 10) -> np.ndarray:
    """Two people 1 m apart, the first raising its right hand over the frames."""
    from llmar.data.synthetic import make_synthetic_dataset

    one = make_synthetic_dataset(num_subjects=1, repeats=1, test_subjects=0, seed=0).sample(0)[:, :t]
    two = np.concatenate([one, one + np.array([1.0, 0.0, 0.3], dtype=np.float32)])
    two[0, :, 11, 1] += np.linspace(0, 0.5, t)  # hand_right moves: frames differ
    return two


def chain_2d(t: int = 20, joints: int = 7) -> np.ndarray:
    phase = np.linspace(0, 2 * np.pi, t)[:, None] + 0.5 * np.arange(joints)[None]
    seq = np.stack([np.broadcast_to(0.3 * np.arange(joints), (t, joints)), np.sin(phase)], -1)
    return seq[None].astype(np.float32)


def red_pixels(path) -> int:
    img = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int((np.abs(img - RED).sum(-1) < 60).sum())


def test_gif_ntu_3d_two_bodies_has_one_frame_per_skeleton_frame(tmp_path):
    seq = ntu_two_bodies(10)
    out = animate_skeleton(seq, NTU25, tmp_path / "a.gif", title="two", sentence="<a_1><a_2>" * 40, label="wave")
    img = Image.open(out)
    assert img.format == "GIF" and img.n_frames == 10
    first = np.asarray(img.convert("RGB")).copy()
    img.seek(9)
    last = np.asarray(img.convert("RGB"))
    assert first.shape == last.shape and first.shape[0] > 200 and (first != last).any()


def test_gif_2d_generic_layout_subsamples_frames(tmp_path):
    layout = generic_layout(7)
    out = animate_skeleton(chain_2d(20), layout, tmp_path / "chain.gif", max_frames=5, fps=5)
    assert Image.open(out).n_frames == len(frame_indices(20, 5)) == 5
    assert frame_indices(20, 5).tolist() == [0, 5, 10, 14, 19]  # first and last kept, evenly spaced
    # one 2D body and a [T, V, C] array without a body axis: same drawing
    out2 = animate_skeleton(chain_2d(20)[0], layout, tmp_path / "chain2.gif", max_frames=5, fps=5)
    assert Image.open(out2).n_frames == 5


def test_png_strip_of_key_frames_and_padded_body_not_drawn(tmp_path):
    seq = ntu_two_bodies(12)
    both = animate_skeleton(seq, NTU25, tmp_path / "both.png", key_frames=4, label="wave")
    img = Image.open(both)
    assert img.format == "PNG" and img.width > 2 * img.height  # four panels side by side
    padded = seq.copy()
    padded[1] = 0  # an absent second person, as loaders pad
    single = animate_skeleton(padded, NTU25, tmp_path / "single.png", key_frames=4)
    assert red_pixels(both) > 200 and red_pixels(single) == 0


def test_bad_inputs_raise_clear_errors(tmp_path, monkeypatch):
    seq = ntu_two_bodies(4)
    with pytest.raises(AnimationFormatError, match=r"\.avi.*\.gif"):
        animate_skeleton(seq, NTU25, tmp_path / "a.avi")
    assert not (tmp_path / "a.avi").exists()
    monkeypatch.setattr(viz, "_ffmpeg_available", lambda: False)
    with pytest.raises(AnimationFormatError, match=r"ffmpeg.*\.gif"):
        animate_skeleton(seq, NTU25, tmp_path / "a.mp4")
    with pytest.raises(ValueError, match="7 joints"):
        animate_skeleton(chain_2d(4), NTU25, tmp_path / "b.gif")
    with pytest.raises(ValueError, match="all zeros"):
        animate_skeleton(np.zeros_like(seq), NTU25, tmp_path / "c.gif")


def test_layout_for_joint_counts():
    assert layout_for(25) is NTU25
    assert layout_for(20).name == "kinect20" and layout_for(15).name == "florence15"
    assert layout_for(7).num_joints == 7


def test_cli_viz_reads_a_file(tmp_path):
    path = tmp_path / "clip.npy"
    np.save(path, ntu_two_bodies(6))
    assert main(["viz", str(path), "--out", str(tmp_path / "clip.gif")]) == 0
    assert Image.open(tmp_path / "clip.gif").n_frames == 6
    assert main(["viz", str(path), "--out", str(tmp_path / "x.gif"), "--sample", "3"]) == 2
    assert main(["viz", str(path), "--out", str(tmp_path / "x.webm")]) == 1


def test_real_ntu_two_person_file(tmp_path):
    from conftest import shared_data

    path = shared_data("ntu_samples", "raw_skeletons", "S002C002P009R001A056.skeleton")  # giving an object
    assert main(["viz", str(path), "--out", str(tmp_path / "give.png")]) == 0
    assert red_pixels(tmp_path / "give.png") > 200  # the second person is drawn

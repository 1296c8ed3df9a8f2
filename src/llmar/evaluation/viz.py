"""Skeleton animations: bones from the layout's tree, one colour per body, 2D or 3D, as .gif/.mp4/.png.

    animate_skeleton(seq, NTU25, "wave.gif", label="wave", sentence=prediction.sentence)

A .png is a strip of key frames (for papers and reports where nothing moves).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from llmar.data.layout import JointLayout
from llmar.data.layout import layout_by_joint_count as layout_for  # the one guess; the CLI's animate uses it

FORMATS = (".gif", ".mp4", ".png")


class AnimationFormatError(ValueError):
    """The output file type cannot be written (unknown suffix, or .mp4 without ffmpeg)."""


BODY_COLORS = ("tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown")


def _check(seq: np.ndarray, layout: JointLayout, out_path: Path) -> np.ndarray:
    if out_path.suffix.lower() not in FORMATS:
        raise AnimationFormatError(f"{out_path}: unsupported animation format {out_path.suffix!r}; use one of {', '.join(FORMATS)}")
    seq = np.asarray(seq, dtype=np.float32)
    if seq.ndim == 3:
        seq = seq[None]
    if seq.ndim != 4 or seq.shape[1] == 0:
        raise ValueError(f"{out_path}: expected a skeleton [M, T, V, C] with frames, got shape {seq.shape}")
    if seq.shape[2] != layout.num_joints:
        raise ValueError(f"{out_path}: skeleton has {seq.shape[2]} joints, layout {layout.name!r} has {layout.num_joints}")
    if seq.shape[3] not in (2, 3):
        raise ValueError(f"{out_path}: expected 2 or 3 coordinates per joint, got {seq.shape[3]}")
    if not np.isfinite(seq).all():
        raise ValueError(f"{out_path}: skeleton contains NaN or inf")
    present = np.abs(seq).reshape(seq.shape[0], -1).sum(1) > 0  # zero-padded bodies are not drawn
    if not present.any():
        raise ValueError(f"{out_path}: every body is all zeros, nothing to draw")
    return seq[present]


def _ffmpeg_available() -> bool:
    from matplotlib import animation

    return animation.writers.is_available("ffmpeg")


def frame_indices(num_frames: int, max_frames: int | None) -> np.ndarray:
    """The frames drawn: all of them, or ``max_frames`` evenly spaced ones (first and last included)."""
    if max_frames is None or num_frames <= max_frames:
        return np.arange(num_frames)
    return np.unique(np.linspace(0, num_frames - 1, max_frames).round().astype(int))


def _caption(title: str | None, label: str | None, sentence: str | None, width: int = 70) -> tuple[str, str]:
    """(top text, bottom text): the title and label above, the action sentence wrapped (3 lines) below."""
    top = "\n".join(t for t in (title, f"predicted: {label}" if label else None) if t)
    bottom = ""
    if sentence:
        bottom = textwrap.fill(" ".join(sentence.split()), width=width, max_lines=3, placeholder=" ...",
                               break_long_words=True)  # action tokens have no spaces: break inside them
    return top, bottom


class _Scene:
    """One axes with a line per bone and body; ``show(t)`` moves them to frame t."""

    def __init__(self, fig, spec: tuple[int, int, int], seq: np.ndarray, layout: JointLayout, y_down: bool,
                 view: tuple[float, float] = (12.0, -160.0)):
        self.seq, self.dim = seq, seq.shape[-1]
        self.bones = layout.bones
        lo, hi = seq.reshape(-1, self.dim).min(0), seq.reshape(-1, self.dim).max(0)
        mid, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.1, 1e-6)  # one cube: equal aspect
        if self.dim == 3:
            self.ax = fig.add_subplot(*spec, projection="3d")
            # a fixed camera, y up; the default looks along +z with +x to the left, as a Kinect sees its
            # scene (NTU coordinates), turned 20 degrees so depth shows
            self.ax.view_init(elev=view[0], azim=view[1], vertical_axis="y")
            self.ax.set_box_aspect((1, 1, 1), zoom=1.25)
            self.ax.set_zlim(mid[2] - half, mid[2] + half)
            self.ax.set_xticklabels([])
            self.ax.set_yticklabels([])
            self.ax.set_zticklabels([])
        else:
            self.ax = fig.add_subplot(*spec)
            self.ax.set_aspect("equal")
            self.ax.set_xticks([])
            self.ax.set_yticks([])
        self.ax.set_xlim(mid[0] - half, mid[0] + half)
        self.ax.set_ylim(*((mid[1] + half, mid[1] - half) if y_down else (mid[1] - half, mid[1] + half)))
        self.lines, self.dots = [], []
        for m in range(seq.shape[0]):
            color = BODY_COLORS[m % len(BODY_COLORS)]
            self.lines.append([self.ax.plot(*([[0, 0]] * self.dim), color=color, lw=2)[0] for _ in self.bones])
            self.dots.append(self.ax.plot(*([[0]] * self.dim), "o", color=color, ms=2.5)[0])

    def show(self, t: int) -> list:
        for m, body in enumerate(self.seq[:, t]):
            for line, (c, p) in zip(self.lines[m], self.bones):
                xyz = body[[c, p]].T
                line.set_data(xyz[0], xyz[1])
                if self.dim == 3:
                    line.set_3d_properties(xyz[2])
            self.dots[m].set_data(body[:, 0], body[:, 1])
            if self.dim == 3:
                self.dots[m].set_3d_properties(body[:, 2])
        return [a for body in self.lines for a in body] + self.dots


def animate_skeleton(
    seq: np.ndarray,
    layout: JointLayout,
    out_path: str | Path,
    title: str | None = None,
    sentence: str | None = None,
    label: str | None = None,
    fps: int = 15,
    max_frames: int | None = 120,
    key_frames: int = 6,
    dpi: int = 80,
    y_down: bool = False,
    view: tuple[float, float] = (12.0, -160.0),
) -> Path:
    """Draw ``seq`` [M, T, V, C] (or [T, V, C]) to ``out_path`` (.gif, .mp4 or a .png strip); returns the path.

    Bodies that are all zeros (padding) are skipped. Long sequences are cut to ``max_frames`` evenly spaced
    frames (None: every frame); a .png shows ``key_frames`` of them. ``y_down`` flips 2D image coordinates;
    ``view`` is the 3D camera (elevation, azimuth) in degrees.
    ``sentence`` is the text under the drawing: the action sentence the LLM read (``Prediction.sentence``, None
    for a continuous-entry run, whose LLM reads vectors), or a line saying what it read instead.
    The .mp4 needs ffmpeg; without it an AnimationFormatError says to write a .gif.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import animation

    out_path = Path(out_path)
    seq = _check(seq, layout, out_path)
    suffix = out_path.suffix.lower()
    if suffix == ".mp4" and not _ffmpeg_available():
        raise AnimationFormatError(f"{out_path}: writing .mp4 needs ffmpeg, which was not found; write a .gif instead")
    if fps < 1:
        raise ValueError(f"fps must be >= 1, got {fps}")
    frames = frame_indices(seq.shape[1], max_frames)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        picks = frames[frame_indices(len(frames), max(1, key_frames))]
        top, bottom = _caption(title, label, sentence, width=34 * len(picks))
        _key_frame_strip(seq, layout, out_path, picks, top=top, bottom=bottom, dpi=dpi, y_down=y_down, view=view)
        return out_path
    top, bottom = _caption(title, label, sentence)

    fig = plt.figure(figsize=(4.8, 5.4))
    fig.subplots_adjust(left=0.02, right=0.98, top=0.86 if top else 0.95, bottom=0.16 if bottom else 0.04)
    scene = _Scene(fig, (1, 1, 1), seq, layout, y_down, view)
    fig.text(0.5, 0.99, top, ha="center", va="top", fontsize=10, weight="bold")
    fig.text(0.5, 0.01, bottom, ha="center", va="bottom", fontsize=7, family="monospace")
    counter = fig.text(0.98, 0.88 if top else 0.97, "", ha="right", fontsize=8, color="gray")

    def draw(i: int) -> list:
        counter.set_text(f"frame {frames[i] + 1}/{seq.shape[1]}")
        return scene.show(frames[i]) + [counter]

    anim = animation.FuncAnimation(fig, draw, frames=len(frames), blit=False)
    writer = animation.PillowWriter(fps=fps) if suffix == ".gif" else animation.FFMpegWriter(fps=fps)
    try:
        anim.save(out_path, writer=writer, dpi=dpi)
    finally:
        plt.close(fig)
    return out_path


def _key_frame_strip(seq, layout, out_path, picks, *, top, bottom, dpi, y_down, view) -> None:
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2.4 * len(picks), 3.4))
    fig.subplots_adjust(left=0.01, right=0.99, top=0.78 if top else 0.9, bottom=0.2 if bottom else 0.03, wspace=0.02)
    for k, t in enumerate(picks):
        scene = _Scene(fig, (1, len(picks), k + 1), seq, layout, y_down, view)
        scene.show(t)
        scene.ax.set_title(f"frame {t + 1}/{seq.shape[1]}", fontsize=8)
    fig.text(0.5, 0.99, top, ha="center", va="top", fontsize=10, weight="bold")
    fig.text(0.5, 0.01, bottom, ha="center", va="bottom", fontsize=7, family="monospace")
    fig.savefig(out_path, dpi=dpi)
    plt.close(fig)


__all__ = ["animate_skeleton", "AnimationFormatError", "layout_for", "frame_indices", "FORMATS"]

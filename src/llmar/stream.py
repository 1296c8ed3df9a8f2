"""Recognition on a live stream: a window slides over incoming frames and each window gets a label.

    rec = Recognizer.from_pretrained("runs/utd")
    for w in stream(rec, frames, stride=15, smooth=3):   # frames: an iterable of [V, C] (or [M, V, C]) arrays
        print(w.start, w.end, w.label, w.probability)

The window's length defaults to the run's frame count (``data.num_frames``, what every training clip was
resampled to); a label is given every ``stride`` frames once the first window is full (a recording shorter than
one window gets one label at its end). ``smooth=n`` labels each window with the mean of the last n windows'
probabilities, which steadies the label where one window catches only part of an action. Each label carries the
compute time it took (from the window's last frame to its label) so a caller can tell whether it keeps up.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from llmar.api import Recognizer
from llmar.data.layout import JointLayout


@dataclass
class WindowLabel:
    start: int  # the window's first frame (index in the stream)
    end: int  # one past its last frame
    label: str
    probability: float  # of ``label``, over the candidate names (smoothed when ``smooth`` > 1)
    top: list[tuple[str, float]]
    seconds: float  # compute from the window's last frame to its label

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label, "probability": self.probability,
                "top": [{"class": c, "probability": p} for c, p in self.top], "seconds": self.seconds}


def frames_of(recording: np.ndarray) -> Iterator[np.ndarray]:
    """A whole recording [T, V, C] or [M, T, V, C] as the frames a live source would give, one at a time."""
    arr = np.asarray(recording, dtype=np.float32)
    if arr.ndim == 3:
        yield from arr
    elif arr.ndim == 4:
        yield from arr.transpose(1, 0, 2, 3)
    else:
        raise ValueError(f"expected a recording [T, V, C] or [M, T, V, C], got shape {arr.shape}")


def played_back(recordings: Iterable[np.ndarray]) -> np.ndarray:
    """Recordings [M, T, V, C] played back to back as one: [M, sum of T, V, C], bodies padded with zeros to the
    most any has."""
    recordings = list(recordings)
    bodies = max(arr.shape[0] for arr in recordings)
    return np.concatenate([np.pad(arr, ((0, bodies - arr.shape[0]), (0, 0), (0, 0), (0, 0))) for arr in recordings],
                          axis=1)


def sliding_windows(frames: Iterable[np.ndarray], window: int, stride: int) -> Iterator[tuple[int, np.ndarray]]:
    """(start, [T, V, C] or [M, T, V, C]) every ``stride`` frames once ``window`` frames have arrived; a
    stream shorter than one window yields what it has at its end."""
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be at least 1 frame, got {window} and {stride}")
    buffer: deque[np.ndarray] = deque(maxlen=window)
    seen = since_last = 0
    for frame in frames:
        buffer.append(np.asarray(frame, dtype=np.float32))
        seen += 1
        since_last += 1
        if len(buffer) == window and (seen == window or since_last >= stride):
            since_last = 0
            yield seen - window, _stack(buffer)
    if 0 < seen < window:
        yield 0, _stack(buffer)


def _stack(frames: deque[np.ndarray]) -> np.ndarray:
    arr = np.stack(frames)  # [T, V, C] or [T, M, V, C]
    return arr if arr.ndim == 3 else arr.transpose(1, 0, 2, 3)


@torch.no_grad()
def stream(recognizer: Recognizer, frames: Iterable[np.ndarray], *, window: int | None = None, stride: int = 15,
           smooth: int = 1, classes: list[str] | None = None, layout: JointLayout | None = None,
           top_k: int = 5) -> Iterator[WindowLabel]:
    """A label for every window of ``frames`` (see the module's docstring). ``classes``: names to choose among
    instead of the run's (open vocabulary); ``layout``: the frames' joints when they are not the run's."""
    if smooth < 1:
        raise ValueError(f"smooth must be at least 1 window, got {smooth}")
    names = list(classes) if classes else recognizer.classes
    class_ids = recognizer.model.class_token_ids(names)
    recent: deque[torch.Tensor] = deque(maxlen=smooth)
    for start, clip in sliding_windows(frames, window or recognizer.config.data.num_frames, stride):
        began = time.perf_counter()
        x = recognizer.prepare(clip, layout)
        scores = recognizer.model.score(x, class_ids, top_k=None, choices=names if classes else None)[0]
        recent.append(scores.float().softmax(-1))
        probs = torch.stack(list(recent)).mean(0)
        order = probs.argsort(descending=True)[:top_k].tolist()
        top = [(names[i], float(probs[i])) for i in order]
        yield WindowLabel(start, start + clip.shape[-3], top[0][0], top[0][1], top, time.perf_counter() - began)


__all__ = ["WindowLabel", "frames_of", "played_back", "sliding_windows", "stream"]

"""Training logs: one JSON line per record in the run directory, mirrored to TensorBoard."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path


class RunLogger:
    def __init__(self, run_dir: str | Path, enabled: bool = True, tensorboard: bool = True):
        self.enabled = enabled
        self.path = Path(run_dir) / "logs.jsonl"
        self.writer = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"))
            except ImportError:  # tensorboard is optional at run time
                self.writer = None

    def log(self, stage: str, step: int, **values: float) -> None:
        if not self.enabled:
            return
        record = {"time": round(time.time(), 3), "stage": stage, "step": step, **values}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)):
                    self.writer.add_scalar(f"{stage}/{key}", value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def still_falling(losses: list[float], window_fraction: float = 0.1, threshold: float = 0.15,
                  fitted: float = 0.05) -> float | None:
    """Relative drop of the mean loss between the last two windows of training (each ``window_fraction``
    of the steps), when it exceeds ``threshold``; None when the curve has flattened, is too short, or ends
    under ``fitted`` (the training set is learnt: 0.02 to 0.01 is a large relative drop that more steps
    would not turn into accuracy)."""
    w = max(5, int(len(losses) * window_fraction))
    if len(losses) < 2 * w:
        return None
    before, last = sum(losses[-2 * w : -w]) / w, sum(losses[-w:]) / w
    if last < fitted:
        return None
    drop = (before - last) / max(abs(before), 1e-8)
    return drop if drop > threshold else None


def warn_if_still_falling(losses: list[float], stage: str, knob: str) -> None:
    drop = still_falling(losses)
    if drop is not None:
        warnings.warn(f"{stage} ended while its loss was still falling steeply ({100 * drop:.0f} % over the last "
                      f"tenth of training): more steps would likely help (raise {knob})", stacklevel=2)

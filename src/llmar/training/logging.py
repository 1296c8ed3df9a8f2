"""Training logs: one JSON line per record in the run directory, mirrored to TensorBoard."""

from __future__ import annotations

import json
import time
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

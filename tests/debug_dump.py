"""A test-only evaluation callback that dumps what every process ends with, and the `llmar` command line
with it (for tests that run `llmar train` in subprocesses)::

    python tests/debug_dump.py DUMP_DIR train CONFIG [--set ...]   # as `llmar train CONFIG ...`

Every process writes DUMP_DIR/rank{i}.pt when the test split is scored: its trainable weights (LoRA and the
projection), the whole VQ-VAE (LLM-AR runs) and the gathered scores, labels and dataset indices.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch


class DebugDump:
    def __init__(self, out: str | Path):
        self.out = Path(out)

    def on_evaluated(self, model, accelerator, scores, labels, indices) -> None:
        model = accelerator.unwrap_model(model)
        state = {"trainable": {n: p.detach().float().cpu().clone() for n, p in model.named_parameters()
                               if p.requires_grad},
                 "scores": np.asarray(scores), "labels": np.asarray(labels), "indices": np.asarray(indices)}
        if hasattr(model, "vqvae"):
            state["vqvae"] = {k: v.detach().float().cpu().clone() for k, v in model.vqvae.state_dict().items()}
        self.out.mkdir(parents=True, exist_ok=True)
        torch.save(state, self.out / f"rank{accelerator.process_index}.pt")


if __name__ == "__main__":
    from llmar import cli

    sys.exit(cli.main(sys.argv[2:], callbacks=[DebugDump(sys.argv[1])]))

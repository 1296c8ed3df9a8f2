"""Two processes on CPU (gloo) through `accelerate launch`: ranks stay in sync, evaluation sees each sample once.

The run is a real `llmar train` on a tiny random Llama and the built-in synthetic data. With
LLMAR_DEBUG_DUMP set, every rank writes its final weights and the gathered evaluation arrays
(training/runner.py: debug_dump), which the assertions below compare.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from llmar.config import Config
from llmar.training.data import load_data, split_indices

# 36 training samples (3 subjects x 12 classes), 12 test samples cut to an odd 7
TINY = """
model: llmar
data:
  kind: synthetic
  options: {{num_subjects: 4, repeats: 1, test_subjects: 1}}
  num_frames: 32
  max_bodies: 1
projection: {{num_codes: 32, code_dim: 16, hidden_dim: 32, epochs: 2, batch_size: 8}}
llm: {{path: {llm}, dtype: float32, lora_r: 4, lora_alpha: 8}}
train: {{epochs: 2, batch_size: 4, eval_batch_size: 2, checkpoint_every: 4, log_every: 1, max_test_samples: 7}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, tiny_llm_dir):
    """Train once with 2 processes; returns (run_dir, dump_dir, config)."""
    root = tmp_path_factory.mktemp("ddp")
    cfg_path, run_dir, dump = root / "tiny.yaml", root / "run", root / "dump"
    cfg_path.write_text(TINY.format(llm=tiny_llm_dir))
    # no GPU visible: the runner then asks accelerate for CPU processes, which join over gloo
    env = {**os.environ, "LLMAR_DEBUG_DUMP": str(dump), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(free_port()),
           "-m", "llmar.cli", "train", str(cfg_path), "--set", f"output_dir={run_dir}"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return run_dir, dump, Config.load(cfg_path)


def load_dump(dump: Path, rank: int) -> dict:
    return torch.load(dump / f"rank{rank}.pt", weights_only=False)


def test_both_ranks_end_with_identical_weights(ddp_run):
    run_dir, dump, _ = ddp_run
    r0, r1 = load_dump(dump, 0), load_dump(dump, 1)
    assert any("lora_B" in k for k in r0["trainable"]) and "vqvae.to_llm.weight" in r0["trainable"]
    for section in ("trainable", "vqvae"):
        assert r0[section].keys() == r1[section].keys()
        for k in r0[section]:
            assert torch.equal(r0[section][k], r1[section][k]), f"{section} {k} differs between ranks"
    # it trained: LoRA B starts at zero
    assert max(float(v.abs().max()) for k, v in r0["trainable"].items() if "lora_B" in k) > 0


def test_frozen_vqvae_is_stage1_result(ddp_run):
    """Stage 2 leaves the VQ-VAE alone (usage statistics included), except the trained code-to-LLM map."""
    run_dir, dump, _ = ddp_run
    stage1 = load_file(run_dir / "stage1" / "model.safetensors")
    final = load_dump(dump, 0)["vqvae"]
    for k, v in stage1.items():
        if not k.startswith("to_llm."):
            assert torch.equal(final[k], v.float()), f"stage 2 changed the frozen VQ-VAE's {k}"
    assert not torch.equal(final["to_llm.weight"], stage1["to_llm.weight"].float())


def test_evaluation_gathers_every_test_sample_once(ddp_run):
    """7 test samples, 2 ranks x eval batch 2: the padding of the last round must be dropped."""
    _, dump, cfg = ddp_run
    _, test_idx = split_indices(load_data(cfg), cfg)
    assert len(test_idx) == 7
    r0, r1 = load_dump(dump, 0), load_dump(dump, 1)
    for r in (r0, r1):
        assert len(r["indices"]) == len(test_idx)
        assert np.array_equal(np.sort(r["indices"]), np.sort(test_idx))  # no duplicate, none missing
        assert r["scores"].shape == (7, 12)
    ds = load_data(cfg)
    assert np.array_equal(r0["labels"], ds.y[r0["indices"]])  # scores/labels stay aligned with the indices
    assert np.array_equal(r0["indices"], r1["indices"]) and np.array_equal(r0["scores"], r1["scores"])


def test_schedule_and_checkpoints_count_per_process_steps(ddp_run):
    """Each rank sees 18 of the 36 training samples: ceil(18 / 4) = 5 steps per epoch, 10 in all; the
    cosine schedule must reach zero at the last of them and the final checkpoint must be written."""
    run_dir, _, _ = ddp_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["stage2_steps"] == 10 and metrics["num_samples"] == 7
    records = [json.loads(line) for line in (run_dir / "logs.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in records if r["stage"] == "stage2"]
    assert len(lrs) == 10
    assert lrs[0] > lrs[4] > 0 and lrs[-1] == pytest.approx(0.0, abs=1e-12)
    assert (run_dir / "checkpoints" / "step_00000010" / "progress.json").exists()
    progress = json.loads((run_dir / "checkpoints" / "step_00000010" / "progress.json").read_text())
    assert progress == {"step": 10, "epoch": 2, "batch": 0}

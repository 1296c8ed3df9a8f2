"""The graph baseline trains through the shared trainer: checkpoints hold its BatchNorm statistics, and a
resumed finished run reproduces the same model and figures."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from llmar.config import Config
from llmar.training.checkpoint import latest_checkpoint
from llmar.training.runner import train


@pytest.fixture(scope="module")
def gcn_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gcn")
    cfg = Config.from_dict({
        "model": "gcn", "output_dir": str(root / "run"),
        "data": {"kind": "synthetic", "options": {"num_subjects": 4, "repeats": 1, "test_subjects": 1},
                 "num_frames": 16, "max_bodies": 1},
        "gcn": {"base_channels": 8, "num_stages": 3, "epochs": 1, "min_steps": 12, "batch_size": 8,
                "label_smoothing": 0.1},
        "train": {"checkpoint_every": 5, "eval_batch_size": 8, "max_test_samples": 12},
    })
    run, metrics = train(cfg)
    return cfg, run, metrics


def test_step_floor_and_checkpoints_with_buffers(gcn_run):
    cfg, run, metrics = gcn_run
    logged = [json.loads(line) for line in (run / "logs.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in logged if r["stage"] == "gcn") == 12  # 1 epoch is 5 steps; the floor is 12
    state = torch.load(latest_checkpoint(run / "checkpoints") / "state.pt", weights_only=False)
    assert any("running_mean" in k for k in state["model"])
    assert (run / "eval" / "loss_curves.png").exists()


def test_resuming_a_finished_run_changes_nothing(gcn_run):
    cfg, run, metrics = gcn_run
    before = load_file(run / "gcn" / "model.safetensors")
    _, again = train(cfg, resume=True)
    after = load_file(run / "gcn" / "model.safetensors")
    for k in before:
        assert torch.equal(before[k], after[k]), k
    assert again["top1"] == metrics["top1"] and again["top5"] == metrics["top5"]

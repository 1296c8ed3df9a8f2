"""The same config and seed give the same run on the same machine: stage-1 weights, stage-2 weights,
scores and metrics, bit for bit (two brief trainings, compared)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from llmar.config import Config
from llmar.training.runner import train


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, tiny_llm_dir):
    root = tmp_path_factory.mktemp("determinism")
    runs = []
    for name in ("a", "b"):
        cfg = Config.from_dict({
            "output_dir": str(root / name),
            "data": {"kind": "synthetic", "options": {"num_subjects": 4, "repeats": 1, "test_subjects": 1},
                     "num_frames": 32, "max_bodies": 1},
            "projection": {"part_tokens": True, "num_codes": 32, "code_dim": 16, "hidden_dim": 32, "epochs": 2,
                           "batch_size": 8, "class_weight": 1.0},
            "llm": {"path": str(tiny_llm_dir), "dtype": "float32", "lora_r": 4, "lora_alpha": 8},
            "train": {"epochs": 1, "batch_size": 4, "eval_batch_size": 4, "max_test_samples": 8,
                      "tokenizer_lr": 1e-4},
        })
        runs.append(train(cfg)[0])
    return runs


def test_same_seed_same_weights_and_scores(two_runs):
    a, b = two_runs
    for rel in ("stage1/model.safetensors", "projection/model.safetensors"):
        wa, wb = load_file(a / rel), load_file(b / rel)
        assert wa.keys() == wb.keys()
        for k in wa:
            assert torch.equal(wa[k], wb[k]), f"{rel}: {k} differs between two runs of one config"
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    for key in ("top1", "top5", "final_train_loss", "stage2_steps"):
        assert ma[key] == mb[key], key
    ca, cb = (np.array(json.loads((d / "eval" / "metrics.json").read_text())["confusion_matrix"]) for d in (a, b))
    assert np.array_equal(ca, cb)

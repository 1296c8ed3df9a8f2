"""benchmarks/gpu_check.py, the prepared device check, kept runnable: its --tiny version on the CPU writes a
row per measurement, every one ok with finite figures."""

from __future__ import annotations

import json
import math

import pytest
from conftest import benchmark_module, shared_data


@pytest.fixture(scope="module")
def gpu_check():
    return benchmark_module("gpu_check")


def run(gpu_check, monkeypatch, tmp_path, smollm2_dir, *args) -> list[dict]:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # --device cpu sets it; restored after the test
    out = tmp_path / "gpu.jsonl"
    code = gpu_check.main(["--device", "cpu", "--tiny", "--out", str(out), "--tokenizer", str(smollm2_dir), *args])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert code == 0, [r["error"] for r in rows if not r["ok"]]
    for row in rows:
        assert row["ok"] and "error" not in row, row
        assert row["date"] and row["torch"] and row["transformers"] and row["peft"] and row["device"].startswith("cpu")
        figures = [v for v in row.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        assert figures and all(math.isfinite(v) for v in figures), row
    return rows


def test_scale_and_tree_attention_checks_write_ok_rows(gpu_check, monkeypatch, tmp_path, smollm2_dir):
    rows = run(gpu_check, monkeypatch, tmp_path, smollm2_dir, "--only", "scale", "tree_attention")
    kinds = [r["check"] for r in rows]
    assert kinds.count("tree_attention") == 2 and kinds.count("scale.matmul") == 1
    steps = [r for r in rows if r["check"] == "scale.train_step"]
    evals = [r for r in rows if r["check"] == "scale.eval"]
    assert len(steps) == 2 * 2 * 2 and len(evals) == 2 * 2 * 2  # shapes x LoRA ranks x batches / label sets
    assert all(r["identical_top5"] and r["identical_top5_scores"] for r in rows if r["check"] == "tree_attention")
    assert {r["num_names"] for r in evals} == {10, 120}
    assert all(r["samples_per_s"] > 0 and 0 < r["matmul_share"] for r in steps + evals)


def test_pipeline_check_trains_reloads_and_predicts_the_same(gpu_check, monkeypatch, tmp_path, smollm2_dir):
    data = shared_data("nw_ucla")
    (row,) = run(gpu_check, monkeypatch, tmp_path, smollm2_dir, "--only", "pipeline", "--data", str(data))
    assert row["check"] == "pipeline" and row["runner_device"] == "cpu"
    assert row["stage2_steps"] == 2 and row["test_samples"] == 8
    assert row["reload_changed_predictions"] == 0 and row["api_reload_same_top5"]

"""ONNX export of the stage-1 tokenizer: onnxruntime gives exactly PyTorch's tokens, both codebooks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import paper_projection

from llmar.cli import main
from llmar.config import Config
from llmar.data.layout import NTU25
from llmar.data.transforms import preprocess
from llmar.projection.export import export_onnx, export_tokenizer_onnx, exported_with, run_onnx, run_onnx_tokenizer
from llmar.projection.vqvae import ActionVQVAE

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

FRAMES, BODIES = 32, 2


def real_like_clips(ds, n: int) -> torch.Tensor:
    """Preprocessed synthetic NTU clips, as the model sees them: one person (the second body is padding),
    except the last of several clips, which gets a second person."""
    x = torch.from_numpy(np.stack([preprocess(ds.sample(i), ds.layout, FRAMES, BODIES) for i in range(0, 4 * n, 4)]))
    if n > 1:
        x[-1, 1] = x[0, 0] + 0.5
    return x


def make_vqvae(codebook: str, ds) -> ActionVQVAE:
    torch.manual_seed(0)
    vq = ActionVQVAE(paper_projection(codebook=codebook, num_codes=64, code_dim=16, hidden_dim=32), NTU25, 3, 32)
    vq.eval()
    # codes drawn from real encoder outputs, as after training: many codes close to each vector, so the
    # nearest-code decision is a real test of the exported distance
    with torch.no_grad():
        z, mask = vq.encode(real_like_clips(ds, 8))
        vq.codebook.usage.zero_()
        vq.codebook.reset_dead_codes(z[mask])
    return vq


@pytest.fixture(scope="module", params=["hyperbolic", "euclidean"])
def exported(request, tmp_path_factory, synthetic_small):
    vq = make_vqvae(request.param, synthetic_small)
    path = export_tokenizer_onnx(vq, tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx",
                                 num_frames=FRAMES, max_bodies=BODIES)
    return vq, path


@pytest.mark.parametrize("batch", [1, 3])
def test_onnxruntime_tokens_equal_pytorch(exported, synthetic_small, batch):
    vq, path = exported
    g = torch.Generator().manual_seed(batch)
    inputs = {"random": torch.randn(batch, BODIES, FRAMES, 25, 3, generator=g),
              "real": real_like_clips(synthetic_small, batch)}
    for kind, x in inputs.items():
        want_tokens, want_mask = vq.tokenize(x)
        tokens, mask = run_onnx_tokenizer(path, x)
        assert tokens.shape == (batch, BODIES, FRAMES // 4) and tokens.dtype == np.int64, kind
        assert np.array_equal(tokens, want_tokens.numpy()), f"{kind}: {(tokens != want_tokens.numpy()).sum()} differ"
        assert np.array_equal(mask, want_mask.numpy()), kind
        assert len(np.unique(tokens)) > 1, kind  # not a degenerate codebook that maps everything to one code


def test_metadata_describes_the_export(exported):
    vq, path = exported
    meta = exported_with(path)
    assert meta["codebook"] == vq.cfg.codebook and meta["num_frames"] == str(FRAMES)
    assert meta["max_bodies"] == str(BODIES) and meta["exporter"] in ("dynamo", "torchscript")


def test_torchscript_fallback_exports_the_hyperbolic_codebook(tmp_path, synthetic_small):
    vq = make_vqvae("hyperbolic", synthetic_small).train()
    usage = vq.codebook.usage.clone()
    path = export_tokenizer_onnx(vq, tmp_path / "ts.onnx", num_frames=FRAMES, max_bodies=BODIES, exporter="torchscript")
    assert vq.training and torch.equal(vq.codebook.usage, usage)  # the caller's model is left as it was
    x = real_like_clips(synthetic_small, 3)
    assert exported_with(path)["exporter"] == "torchscript"
    assert np.array_equal(run_onnx_tokenizer(path, x)[0], vq.eval().tokenize(x)[0].numpy())


def test_bad_arguments(tmp_path, synthetic_small):
    vq = make_vqvae("euclidean", synthetic_small)
    with pytest.raises(ValueError, match="multiple of temporal_downsample"):
        export_tokenizer_onnx(vq, tmp_path / "x.onnx", num_frames=30)
    with pytest.raises(ValueError, match="exporter"):
        export_tokenizer_onnx(vq, tmp_path / "x.onnx", exporter="tflite")
    with pytest.raises(ValueError, match="output must be one of"):
        export_onnx(vq, tmp_path / "x.onnx", output="logits")


def test_cli_export_uses_the_run_clip_shape(tmp_path, synthetic_small):
    run = tmp_path / "run"
    make_vqvae("euclidean", synthetic_small).save_pretrained(run / "projection")
    cfg = Config.from_dict({"preset": "paper"})
    cfg.data.num_frames, cfg.data.max_bodies = 16, 1
    cfg.save(run / "config.yaml")
    out = tmp_path / "tok.onnx"
    assert main(["export", str(run), "--out", str(out), "--exporter", "torchscript"]) == 0
    tokens, mask = run_onnx_tokenizer(out, torch.randn(2, 1, 16, 25, 3))
    assert tokens.shape == (2, 1, 4) and mask.shape == (2, 1)
    assert main(["export", str(tmp_path / "nothing"), "--out", str(out)]) == 1
    # a bare projection folder (no run config beside it): its action sentence, at the default clip shape
    assert main(["export", str(run / "projection"), "--out", str(tmp_path / "bare.onnx"), "--exporter", "torchscript",
                 "--num-frames", "16", "--max-bodies", "1"]) == 0
    assert exported_with(tmp_path / "bare.onnx")["output"] == "tokens"


def test_auto_falls_back_when_dynamo_fails_and_leaves_no_file_when_all_fail(tmp_path, synthetic_small, monkeypatch):
    from llmar.projection import export

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    vq = make_vqvae("euclidean", synthetic_small)
    monkeypatch.setattr(export, "_export_dynamo", broken)
    path = export_tokenizer_onnx(vq, tmp_path / "a.onnx", num_frames=FRAMES, max_bodies=BODIES)
    assert exported_with(path)["exporter"] == "torchscript"
    monkeypatch.setattr(export, "_export_torchscript", broken)
    with pytest.raises(RuntimeError, match=r"every exporter(.|\n)*dynamo: RuntimeError: boom(.|\n)*torchscript"):
        export_tokenizer_onnx(vq, tmp_path / "b.onnx", num_frames=FRAMES, max_bodies=BODIES)
    assert not (tmp_path / "b.onnx").exists()


def test_llm_vectors_export_gives_the_projected_encoder_vectors(tmp_path, synthetic_small):
    """A continuous-entry run's export: the encoder's vectors through the map to the LLM's width, in the LLM's
    reading order; no codebook."""
    torch.manual_seed(0)
    vq = ActionVQVAE(paper_projection(num_codes=16, code_dim=16, hidden_dim=32, part_tokens=True),
                     NTU25, 3, 32).eval()
    path = export_onnx(vq, tmp_path / "vectors.onnx", "llm_vectors", num_frames=FRAMES, max_bodies=BODIES)
    x = real_like_clips(synthetic_small, 3)
    got = run_onnx(path, x)
    with torch.no_grad():
        z, mask = vq.encode(x)
        want = vq.project(z)
    steps, parts = FRAMES // 4, 5
    assert set(got) == {"llm_vectors", "body_mask"} and got["llm_vectors"].shape == (3, BODIES, steps * parts, 32)
    np.testing.assert_allclose(got["llm_vectors"], want.numpy(), atol=1e-5)
    assert np.array_equal(got["body_mask"], mask.numpy())
    meta = exported_with(path)
    assert meta["output"] == "llm_vectors" and meta["llm_width"] == "32"
    with pytest.raises(ValueError, match="not a tokenizer export"):
        run_onnx_tokenizer(path, x)

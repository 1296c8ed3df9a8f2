"""ONNX export of stage 1: a preprocessed skeleton clip -> what a run's LLM reads of it.

The exported graph takes ``skeleton`` float32 [B, M, T, V, C] (already centred, scale-normalised and
resampled to T frames, as :func:`llmar.data.transforms.preprocess` makes it) and returns ``body_mask`` bool
[B, M] and one of:
- ``tokens`` int64 [B, M, L]: the action sentence's codebook ids (``llm.entry: tokens``; with ``snap`` the LLM
  reads each id's vocabulary token from tokens.json's ``snap_ids``);
- ``llm_vectors`` float32 [B, M, L, llm_width]: the encoder's vectors projected to the LLM's width, the rows a
  ``llm.entry: continuous`` run's LLM reads.
L is T' steps (times the body parts with part tokens) in the LLM's reading order, step by step. The batch
axis is dynamic; M, T, V and C are fixed at export time.

    vqvae = ActionVQVAE.from_pretrained("runs/demo/projection")
    export_tokenizer_onnx(vqvae, "tokenizer.onnx", num_frames=64, max_bodies=2)
    export_onnx(vqvae, "llm_input.onnx", output="llm_vectors")   # a continuous-entry run
"""

from __future__ import annotations

import copy
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from llmar.projection.vqvae import ActionVQVAE

log = logging.getLogger(__name__)

INPUT_NAME = "skeleton"
OUTPUT_NAMES = ("tokens", "body_mask")
VECTOR_OUTPUT_NAMES = ("llm_vectors", "body_mask")
OUTPUTS = {"tokens": OUTPUT_NAMES, "llm_vectors": VECTOR_OUTPUT_NAMES}


class _Stage1Graph(nn.Module):
    def __init__(self, vqvae: ActionVQVAE):
        super().__init__()
        self.vqvae = vqvae


class TokenizerGraph(_Stage1Graph):
    """``ActionVQVAE.tokenize`` as a plain forward: encoder, then the nearest code by the codebook's own
    distance. Only the argmin is kept, so the codebook's losses and usage statistics stay out of the graph
    (the float64 Gram matrix of the hyperbolic distance does go in: it decides near ties)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, mask = self.vqvae.encode(x)
        cb = self.vqvae.codebook
        flat = cb._prepare(z.reshape(-1, z.shape[-1]).to(cb.codes.dtype))
        indices = cb._pairwise(flat).argmin(dim=-1)
        return indices.reshape(z.shape[:-1]), mask


class LLMVectorsGraph(_Stage1Graph):
    """What a continuous-entry run's LLM reads: the encoder's vectors, unquantised, through the map to the
    LLM's width (``ActionVQVAE.project``); no codebook."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, mask = self.vqvae.encode(x)
        return self.vqvae.project(z), mask


GRAPHS = {"tokens": TokenizerGraph, "llm_vectors": LLMVectorsGraph}


def _dummy_input(vqvae: ActionVQVAE, batch: int, num_frames: int, max_bodies: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, max_bodies, num_frames, vqvae.layout.num_joints, vqvae.in_channels, generator=g)


def _export_dynamo(graph: nn.Module, x: torch.Tensor, out_path: Path, opset: int, names: tuple[str, ...]) -> None:
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.onnx.export(graph, (x,), dynamo=True, input_names=[INPUT_NAME], output_names=list(names),
                                dynamic_shapes={"x": {0: batch}}, opset_version=opset, verbose=False)
    program.save(str(out_path))


def _export_torchscript(graph: nn.Module, x: torch.Tensor, out_path: Path, opset: int, names: tuple[str, ...]) -> None:
    # ONNX has had Sinh since opset 9, but the TorchScript exporter has no mapping for it (the hyperbolic
    # distance uses it)
    torch.onnx.register_custom_op_symbolic("aten::sinh", lambda g, t: g.op("Sinh", t), 9)
    torch.onnx.export(graph, (x,), str(out_path), dynamo=False, input_names=[INPUT_NAME],
                      output_names=list(names), opset_version=opset,
                      dynamic_axes={name: {0: "batch"} for name in (INPUT_NAME, *names)})


def _add_metadata(out_path: Path, graph: _Stage1Graph, output: str, num_frames: int, max_bodies: int, *,
                  exporter: str) -> None:
    import onnx

    vqvae = graph.vqvae
    model = onnx.load(str(out_path))
    meta = {"producer": "llmar", "output": output, "codebook": vqvae.cfg.codebook, "num_codes": vqvae.cfg.num_codes,
            "temporal_downsample": vqvae.cfg.temporal_downsample, "num_frames": num_frames,
            "max_bodies": max_bodies, "layout": vqvae.layout.name, "num_joints": vqvae.layout.num_joints,
            "in_channels": vqvae.in_channels, "llm_width": vqvae.llm_width, "exporter": exporter}
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=str(v))
    onnx.checker.check_model(model)
    onnx.save(model, str(out_path))


@torch.no_grad()
def _pytorch_reference(graph: _Stage1Graph, output: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What the recognizer computes (the codebook's own forward for tokens), to check the graph against."""
    z, mask = graph.vqvae.encode(x)
    return (graph.vqvae.codebook(z).indices if output == "tokens" else graph.vqvae.project(z)), mask


def _verify(graph: _Stage1Graph, output: str, path: Path, num_frames: int, max_bodies: int) -> None:
    """Raise unless onnxruntime gives PyTorch's output and mask on a random batch of 3: every token, or the
    vectors to float32 rounding."""
    check = _dummy_input(graph.vqvae, 3, num_frames, max_bodies)
    check[0, max_bodies - 1] = 0  # an absent body, as padding makes it
    want, want_mask = _pytorch_reference(graph, output, check)
    got = run_onnx(path, check)
    same_mask = np.array_equal(got["body_mask"], want_mask.numpy())
    if output == "tokens":
        bad = int((torch.from_numpy(got["tokens"]) != want).sum())
        problem = f"{bad} of {want.numel()} tokens" if bad else ""
    else:
        error = float(np.abs(got["llm_vectors"] - want.numpy()).max())
        problem = f"the vectors by up to {error:.2g}" if error > 1e-4 * max(1.0, float(want.abs().max())) else ""
    if problem or not same_mask:
        raise RuntimeError(f"{path}: the exported graph disagrees with PyTorch on {problem or 'no values'} "
                           f"(body mask equal: {same_mask})")


def run_onnx(path: str | Path, x: np.ndarray | torch.Tensor) -> dict[str, np.ndarray]:
    """Run an exported file with onnxruntime: x [B, M, T, V, C] -> its outputs by name (``body_mask`` and
    ``tokens`` or ``llm_vectors``)."""
    import onnxruntime as ort

    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    runtime = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in runtime.get_outputs()]
    return dict(zip(names, runtime.run(names, {INPUT_NAME: arr.astype(np.float32)})))


def run_onnx_tokenizer(path: str | Path, x: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Run an exported tokenizer with onnxruntime: x [B, M, T, V, C] -> (tokens [B, M, T'], body_mask [B, M])."""
    out = run_onnx(path, x)
    if "tokens" not in out:
        raise ValueError(f"{path}: not a tokenizer export (its outputs: {sorted(out)}); run it with run_onnx")
    return out["tokens"], out["body_mask"]


def export_tokenizer_onnx(vqvae: ActionVQVAE, out_path: str | Path, num_frames: int = 64, max_bodies: int = 2,
                          **options) -> Path:
    """Export the stage-1 tokenizer (skeleton -> codebook ids) to ONNX; ``export_onnx`` with ``output="tokens"``."""
    return export_onnx(vqvae, out_path, "tokens", num_frames=num_frames, max_bodies=max_bodies, **options)


def export_onnx(
    vqvae: ActionVQVAE,
    out_path: str | Path,
    output: str = "tokens",
    num_frames: int = 64,
    max_bodies: int = 2,
    opset: int = 18,
    exporter: str = "auto",
    verify: bool = True,
) -> Path:
    """Export stage 1 of ``vqvae`` to ONNX at ``out_path``; returns the path.

    output: "tokens" (codebook ids: the action sentence of a tokens or snap run) or "llm_vectors" (the
        encoder's vectors projected to the LLM's width: what a continuous-entry run's LLM reads).
    exporter: "dynamo" (torch.export based), "torchscript", or "auto" (dynamo, then TorchScript if it
        fails). The exporter used is stored in the model's metadata with the output, clip shape and codebook.
    verify: run the file with onnxruntime on a random batch; a token (or vector) that differs from PyTorch
        counts as a failed export (so "auto" tries the next exporter).
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {sorted(OUTPUTS)}, got {output!r}")
    if exporter not in ("auto", "dynamo", "torchscript"):
        raise ValueError(f"exporter must be 'auto', 'dynamo' or 'torchscript', got {exporter!r}")
    if num_frames < vqvae.cfg.temporal_downsample or num_frames % vqvae.cfg.temporal_downsample:
        raise ValueError(f"num_frames must be a positive multiple of temporal_downsample "
                         f"({vqvae.cfg.temporal_downsample}), got {num_frames}")
    if max_bodies < 1:
        raise ValueError(f"max_bodies must be >= 1, got {max_bodies}")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # a CPU copy in eval mode: the caller's model keeps its device, mode and usage statistics
    vqvae = copy.deepcopy(vqvae).cpu().eval()
    graph = GRAPHS[output](vqvae)
    # batch 2: a dummy batch of 1 lets tracers specialise the batch axis to a constant
    x = _dummy_input(vqvae, 2, num_frames, max_bodies)
    order = ["dynamo", "torchscript"] if exporter == "auto" else [exporter]
    errors = []
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    for name in order:
        try:
            # exporter chatter (deprecations, trace warnings, "torchvision is not installed") is not for users
            onnx_log.setLevel(logging.ERROR)
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                (_export_dynamo if name == "dynamo" else _export_torchscript)(graph, x, out_path, opset, OUTPUTS[output])
            _add_metadata(out_path, graph, output, num_frames, max_bodies, exporter=name)
            if verify:
                _verify(graph, output, out_path, num_frames, max_bodies)
            break
        except Exception as e:  # noqa: BLE001 - any exporter failure means: try the next one
            log.warning("ONNX export with the %s exporter failed: %s", name, e)
            errors.append(f"{name}: {type(e).__name__}: {e}")
        finally:
            onnx_log.setLevel(level)
    else:
        out_path.unlink(missing_ok=True)  # no file rather than a wrong one
        raise RuntimeError(f"{out_path}: ONNX export ({output}) failed with every exporter:\n" + "\n".join(errors))
    return out_path


def exported_with(path: str | Path) -> dict[str, str]:
    """The llmar metadata stored in an exported file (output, exporter, clip shape, codebook)."""
    import onnx

    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}


__all__ = ["export_onnx", "export_tokenizer_onnx", "run_onnx", "run_onnx_tokenizer", "exported_with", "TokenizerGraph",
           "LLMVectorsGraph"]

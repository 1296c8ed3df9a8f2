"""LLM-AR in a run: built (the LLM, stage 1's action VQ-VAE, LoRA) and fitted (stage 2), then saved."""

from __future__ import annotations

import json

import numpy as np
import torch

from llmar.llm.loading import load_llm
from llmar.llm.pretrained import build_recognizer, save_recognizer
from llmar.llm.recognizer import LLMActionRecognizer
from llmar.projection.vqvae import ActionVQVAE
from llmar.training.context import RunContext
from llmar.training.data import make_loader
from llmar.training.stage1 import embedding_sample, run_stage1
from llmar.training.stage2 import attach_finetuning, score_loader, set_trainable, train_recognizer
from llmar.training.trainer import StageData
from llmar.utils import seed_everything


def stage2_seed(ctx: RunContext) -> int:
    return ctx.cfg.train.seed if ctx.cfg.train.stage2_seed is None else ctx.cfg.train.stage2_seed


def build_llmar(ctx: RunContext) -> LLMActionRecognizer:
    """The recognizer stage 2 starts from: the LLM with its fine-tuning wrapper over stage 1's VQ-VAE (trained
    here, or re-used when a resumed run had finished it)."""
    cfg, accelerator = ctx.cfg, ctx.accelerator
    llm, tokenizer = load_llm(cfg.llm.path, cfg.llm.dtype, attention=cfg.llm.attention)
    embeddings = embedding_sample(llm, tokenizer, seed=cfg.train.seed)
    stage1_dir = ctx.run_dir / "stage1"
    if ctx.resume and (stage1_dir / "model.safetensors").exists() and (stage1_dir / "config.json").exists():
        vqvae = ActionVQVAE.from_pretrained(stage1_dir)
        accelerator.print(f"stage 1 already done: loaded {stage1_dir}")
    else:
        vqvae = run_stage1(ctx, embeddings, llm.get_input_embeddings().embedding_dim)
    vqvae.eval()
    # stage 2 starts from the same random state (LoRA init, dropout) whether stage 1 ran or was loaded
    seed_everything(stage2_seed(ctx) + 1)
    llm = attach_finetuning(llm, cfg)
    model = build_recognizer(cfg, vqvae, llm, tokenizer, ctx.ds.classes)
    if cfg.llm.entry == "snap":
        model.compute_snap_ids()
    set_trainable(model, cfg.train.encoder_lr)
    return model


def fit_llmar(model: LLMActionRecognizer, ctx: RunContext) -> tuple[LLMActionRecognizer, dict]:
    """Stage 2; returns the trained recognizer and what to add to the run's metrics."""
    cfg, ds, accelerator = ctx.cfg, ctx.ds, ctx.accelerator

    def loader_for(indices):
        return make_loader(ds, indices, cfg, train=True, batch_size=cfg.train.batch_size, seed=stage2_seed(ctx))

    def evaluate(m, indices):
        loader = make_loader(ds, indices, cfg, train=False, batch_size=cfg.train.eval_batch_size)
        scores, labels, _ = score_loader(m, loader, accelerator, top_k=1)
        with torch.no_grad():
            loss = np.mean([float(m(b["x"].to(accelerator.device), b["y"].to(accelerator.device))) for b in loader])
        return float((scores.argmax(1) == labels).mean()), float(loss)

    data, stage2_budget = ctx.data, None
    if data.validation is not None and cfg.train.validation_weights == "retrain":
        # stage 1 was replayed on every training clip, the validation part included: read through it, that
        # part would no longer be held out, and stage 2 would stop on an optimistic figure
        data = StageData(train=data.train)
        stage2_budget = {"weights": "fixed", "summary": "stage 2: the fixed budget on every training clip (stage 1 "
                         "was retrained on the validation part, so it cannot judge stage 2)"}
        accelerator.print(stage2_budget["summary"])
    result = train_recognizer(model, loader_for, data, cfg, accelerator, run_dir=ctx.run_dir, logger=ctx.logger,
                              resume=ctx.resume, evaluate=evaluate)
    info = {"stage2_steps": result["steps"], "final_train_loss": result["final_loss"]}
    if ctx.data.validation is not None:
        budget_file = ctx.run_dir / "stage1" / "budget.json"
        info["budget"] = {"stage1": json.loads(budget_file.read_text()) if budget_file.exists() else None,
                          "stage2": result.get("validation", stage2_budget)}
    return accelerator.unwrap_model(model), info


def save_llmar(model: LLMActionRecognizer, ctx: RunContext) -> None:
    save_recognizer(ctx.run_dir, ctx.cfg, model, ctx.ds.layout)


__all__ = ["build_llmar", "fit_llmar", "save_llmar"]

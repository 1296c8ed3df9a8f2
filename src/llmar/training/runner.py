"""Whole runs: ``train(config)`` (stage 1, stage 2, evaluation) and ``evaluate_run(run_dir)``."""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator

from llmar.config import Config
from llmar.data.selection import seen_classes, seen_mask, validation_split
from llmar.evaluation.metrics import classification_metrics, unseen_only_metrics, zero_shot_metrics
from llmar.evaluation.report import plot_loss_curves, write_report
from llmar.training.data import load_data, make_loader, split_indices
from llmar.training.logging import RunLogger
from llmar.utils import atomic_save_json, seed_everything

log = logging.getLogger(__name__)
GCN_MODELS = ("gcn", "gcn_text")  # the graph baseline: classifier head, or class-name text embeddings


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def make_accelerator(cfg: Config) -> Accelerator:
    # cpu=True on a machine without GPUs: only then does accelerate join the processes of a `torchrun`/
    # `accelerate launch --multi_gpu` run (gloo); otherwise each process would train alone.
    return Accelerator(gradient_accumulation_steps=cfg.train.grad_accum, mixed_precision=cfg.train.mixed_precision,
                       cpu=not torch.accelerator.is_available())


def train(cfg: Config, resume: bool = False) -> tuple[Path, dict]:
    """Train per ``cfg`` into ``cfg.output_dir`` and evaluate on the test split.

    With ``resume``, the run directory's saved config is used and training continues from the
    last checkpoint (stage 1 is re-used when it had finished).
    """
    run_dir = Path(cfg.output_dir)
    if resume:
        if not (run_dir / "config.yaml").exists():
            raise FileNotFoundError(f"cannot resume: {run_dir / 'config.yaml'} does not exist")
        cfg = Config.load(run_dir / "config.yaml")
        cfg.output_dir = str(run_dir)
    seed_everything(cfg.train.seed)
    accelerator = make_accelerator(cfg)
    ds = load_data(cfg)
    train_idx, test_idx = split_indices(ds, cfg)
    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg.save(run_dir / "config.yaml")
        atomic_save_json({"classes": ds.classes, "layout": ds.layout.to_dict()}, run_dir / "labels.json")
    logger = RunLogger(run_dir, enabled=accelerator.is_main_process)
    start = time.time()
    if cfg.model in GCN_MODELS:
        metrics = _train_gcn(cfg, ds, train_idx, test_idx, accelerator, run_dir, logger, resume)
    else:
        metrics = _train_llmar(cfg, ds, train_idx, test_idx, accelerator, run_dir, logger, resume)
    metrics["train_seconds"] = time.time() - start - metrics.get("eval_seconds", 0.0)
    metrics["peak_rss_gb"] = peak_rss_gb()
    if accelerator.is_main_process:
        write_report(metrics, ds.classes, run_dir / "eval")
        plot_loss_curves(run_dir / "logs.jsonl", run_dir / "eval" / "loss_curves.png")
        atomic_save_json({k: v for k, v in metrics.items() if k not in ("confusion_matrix",)}, run_dir / "metrics.json")
        from llmar.training.model_card import write_model_card

        write_model_card(run_dir, cfg, ds.classes, ds.layout, ds.num_coords, metrics, num_train=len(train_idx))
    logger.close()
    return run_dir, metrics


def _train_llmar(cfg, ds, train_idx, test_idx, accelerator, run_dir, logger, resume) -> dict:
    from llmar.llm.loading import load_llm
    from llmar.llm.pretrained import build_recognizer, save_recognizer
    from llmar.projection.vqvae import ActionVQVAE
    from llmar.training.stage1 import embedding_sample
    from llmar.training.stage2 import attach_finetuning, score_loader, set_trainable, train_recognizer

    llm, tokenizer = load_llm(cfg.llm.path, cfg.llm.dtype, attention=cfg.llm.attention)
    embeddings = embedding_sample(llm, tokenizer, seed=cfg.train.seed)
    stage1_dir = run_dir / "stage1"
    data = stage_data(ds, train_idx, cfg, accelerator)
    if resume and (stage1_dir / "model.safetensors").exists() and (stage1_dir / "config.json").exists():
        vqvae = ActionVQVAE.from_pretrained(stage1_dir)
        accelerator.print(f"stage 1 already done: loaded {stage1_dir}")
    else:
        width = llm.get_input_embeddings().embedding_dim
        vqvae = run_stage1(cfg, ds, data, embeddings, width, accelerator, logger, stage1_dir)
    vqvae.eval()
    # stage 2 starts from the same random state (LoRA init, dropout) whether stage 1 ran or was loaded
    stage2_seed = cfg.train.seed if cfg.train.stage2_seed is None else cfg.train.stage2_seed
    seed_everything(stage2_seed + 1)
    llm = attach_finetuning(llm, cfg)
    model = build_recognizer(cfg, vqvae, llm, tokenizer, ds.classes)
    if cfg.llm.entry == "snap":
        model.compute_snap_ids()
    set_trainable(model)

    def loader_for(indices):
        return make_loader(ds, indices, cfg, train=True, batch_size=cfg.train.batch_size, seed=stage2_seed)

    def evaluate(m, indices):
        loader = make_loader(ds, indices, cfg, train=False, batch_size=cfg.train.eval_batch_size)
        scores, labels, _ = score_loader(m, loader, accelerator, top_k=1)
        with torch.no_grad():
            loss = np.mean([float(m(b["x"].to(accelerator.device), b["y"].to(accelerator.device))) for b in loader])
        return float((scores.argmax(1) == labels).mean()), float(loss)

    result = train_recognizer(model, loader_for, data, cfg, accelerator, run_dir, logger, resume=resume,
                              evaluate=evaluate)
    model = accelerator.unwrap_model(model)
    if accelerator.is_main_process:
        save_recognizer(run_dir, cfg, model, ds.layout)
    accelerator.wait_for_everyone()
    metrics = evaluate_model(model, ds, test_idx, cfg, accelerator)
    metrics.update({"stage2_steps": result["steps"], "final_train_loss": result["final_loss"]})
    if "validation" in result:
        budget_file = stage1_dir / "budget.json"
        metrics["budget"] = {"stage1": json.loads(budget_file.read_text()) if budget_file.exists() else None,
                             "stage2": result["validation"]}
    return metrics


def run_stage1(cfg: Config, ds, data, embeddings, llm_width: int, accelerator, logger, stage1_dir: Path):
    """Stage 1 of a run: train the action VQ-VAE on ``data`` (a StageData), write ``stage1_dir`` (weights +
    diagnostics) on rank 0, and return it reloaded from there, so that every process continues from identical
    weights, with the validation summary when the budget followed one."""
    from llmar.projection.vqvae import ActionVQVAE
    from llmar.training.stage1 import (
        collect_tokens,
        projection_diagnostics,
        stage1_epochs,
        train_projection,
        validation_metrics,
    )
    from llmar.training.validation import MAX_BUDGET_FACTOR, Validation, describe, restore, trainable_copy

    # seeded here, not only at the start of the run: loading the LLM draws from the global RNG (module
    # init before its weights arrive), and stage 1 must not depend on what ran before it
    seed_everything(cfg.train.seed)
    p = cfg.projection

    def loader_for(indices):
        return make_loader(ds, indices, cfg, train=True, batch_size=p.batch_size)

    vqvae = ActionVQVAE(p, ds.layout, ds.num_coords, llm_width, len(ds.classes))
    summary = None
    if data.validation is None:
        train_projection(vqvae, loader_for(data.train), embeddings, accelerator, logger, seed=cfg.train.seed)
    else:
        initial = trainable_copy(vqvae)
        fit_loader, full_batches = loader_for(data.fit), len(loader_for(data.train))
        val_loader = make_loader(ds, data.validation, cfg, train=False, batch_size=p.batch_size)
        plan = Validation(lambda m: validation_metrics(m, val_loader, accelerator.device), every=len(fit_loader),
                          patience=cfg.train.validation_patience,
                          max_steps=MAX_BUDGET_FACTOR * stage1_epochs(p, full_batches) * full_batches)
        result = train_projection(vqvae, fit_loader, embeddings, accelerator, logger, seed=cfg.train.seed,
                                  validation=plan)
        schedule, tracker = result["schedule"], result["tracker"]
        if cfg.train.validation_weights == "retrain":
            restore(accelerator.unwrap_model(vqvae), initial)
            seed_everything(cfg.train.seed)
            schedule = schedule.scaled(len(data.train) / len(data.fit))
            train_projection(vqvae, loader_for(data.train), embeddings, accelerator, logger, seed=cfg.train.seed,
                             replay=schedule)
        summary = {"how": data.how, "best_step": tracker.best_step, "best_accuracy": tracker.best_accuracy,
                   "stable_end": schedule.stable_end, "decay_steps": schedule.decay_steps, "history": tracker.history,
                   "weights": cfg.train.validation_weights,
                   "summary": describe("stage 1", tracker, schedule, cfg.train.validation_weights)}
        accelerator.print(summary["summary"])
    vqvae = accelerator.unwrap_model(vqvae)
    if accelerator.is_main_process:
        plain = make_loader(ds, data.train, cfg, train=False, batch_size=p.batch_size)
        tokens, recon = collect_tokens(vqvae, plain, accelerator.device)
        diag = projection_diagnostics(vqvae, tokens, recon, embeddings, stage1_dir)
        logger.log("stage1_diagnostics", 0, **{k: v for k, v in diag.items() if isinstance(v, (int, float))})
        if summary is not None:
            atomic_save_json(summary, stage1_dir / "budget.json")
        vqvae.save_pretrained(stage1_dir)  # after diagnostics: its presence marks stage 1 as finished
    accelerator.wait_for_everyone()
    return ActionVQVAE.from_pretrained(stage1_dir)


def debug_dump(model, accelerator, **arrays) -> None:
    """With LLMAR_DEBUG_DUMP=DIR set, every process writes DIR/rank{i}.pt: its trainable weights (LoRA and
    the projection), the whole VQ-VAE and the given arrays (the distributed and resume tests compare them)."""
    out = os.environ.get("LLMAR_DEBUG_DUMP")
    if not out:
        return
    model = accelerator.unwrap_model(model)
    state = {"trainable": {n: p.detach().float().cpu().clone() for n, p in model.named_parameters() if p.requires_grad},
             "vqvae": {k: v.detach().float().cpu().clone() for k, v in model.vqvae.state_dict().items()},
             **{k: np.asarray(v) for k, v in arrays.items()}}
    Path(out).mkdir(parents=True, exist_ok=True)
    torch.save(state, Path(out) / f"rank{accelerator.process_index}.pt")


def evaluate_model(model, ds, test_idx, cfg, accelerator, all_scores: bool = False) -> dict:
    """Metrics from the exact top-k trie search (``train.eval_top_k``, 5 by default: top-1, top-5 and the
    confusion matrix need no more), or from every name's score (``all_scores``, or ``train.eval_top_k: null``)."""
    from llmar.training.stage2 import score_loader

    loader = make_loader(ds, test_idx, cfg, train=False, batch_size=cfg.train.eval_batch_size)
    top_k = None if all_scores else cfg.train.eval_top_k
    unseen = cfg.data.unseen_classes
    start = time.time()
    # zero-shot runs list every class name in a {choices} prompt here (the generalised setting)
    scores, labels, indices = score_loader(model, loader, accelerator, top_k=top_k,
                                           choices=list(ds.classes) if unseen else None)

    def among(names: list[str], what: str):
        """Scores ranking ``names`` among themselves: scored again when the prompt lists the candidates or
        the search left names outside each clip's overall top k unscored, else the columns of ``scores``."""
        if "{choices}" in cfg.llm.prompt or top_k is not None:
            return score_loader(model, loader, accelerator, class_ids=model.class_token_ids(names), top_k=top_k,
                                choices=names, desc=f"evaluating ({what} names)")[0]
        return scores[:, [list(ds.classes).index(c) for c in names]]

    if unseen:
        unseen_scores = among(unseen, "unseen")
        seen_scores = among(seen_classes(ds.classes, cfg), "seen")  # ConSE: the LLM's answers among the trained names
    seconds = time.time() - start
    debug_dump(model, accelerator, scores=scores, labels=labels, indices=indices)
    metrics = classification_metrics(scores, labels, ds.classes)
    if unseen:
        metrics.update(zero_shot_metrics(scores, labels, ds.classes, unseen, unseen_scores))
        metrics["unseen_only_conse"] = _conse_metrics(seen_scores, labels, ds, cfg)
    metrics.update({"eval_seconds": seconds, "eval_samples_per_second": len(labels) / max(seconds, 1e-9)})
    return metrics


def class_text_embeddings(cfg: Config, names: list[str]):
    """Sentence embeddings of the class names (``gcn.class_text``; the text-embedding baseline and ConSE)."""
    from llmar.baseline.text_embedding import embed_texts
    from llmar.data.descriptions import load_descriptions, render

    spec = cfg.data.class_descriptions
    table = load_descriptions(spec) if spec else {}
    return embed_texts([render(cfg.gcn.class_text, name, table, spec) for name in names], cfg.gcn.text_model)


def _conse_metrics(seen_scores, labels, ds, cfg: Config) -> dict:
    """The unseen-only setting scored by ConSE over the LLM's seen-class answers (``evaluation.conse``)."""
    from llmar.evaluation.conse import conse_scores

    seen, unseen = seen_classes(ds.classes, cfg), list(cfg.data.unseen_classes)
    emb = class_text_embeddings(cfg, seen + unseen).numpy()
    scores = conse_scores(seen_scores, emb[: len(seen)], emb[len(seen):])
    return unseen_only_metrics(scores, labels, ds.classes, unseen)


def _train_gcn(cfg, ds, train_idx, test_idx, accelerator, run_dir, logger, resume=False) -> dict:
    """The graph baseline through the same trainer as stage 2 (SGD with Nesterov momentum, warm-up and
    cosine decay, label smoothing, checkpoints and resume)."""
    from llmar.training.trainer import LoopConfig, batches_per_process, budget, train_stage
    from llmar.utils import atomic_save_safetensors

    g = cfg.gcn
    seed_everything(cfg.train.seed)
    model = build_gcn(cfg, ds)
    data = stage_data(ds, train_idx, cfg, accelerator)

    def loader_for(indices):
        return make_loader(ds, indices, cfg, train=True, batch_size=g.batch_size)

    def make_optimizer():
        return torch.optim.SGD(model.parameters(), lr=g.lr, momentum=0.9, nesterov=True, weight_decay=g.weight_decay)

    steps = budget(batches_per_process(loader_for(train_idx), accelerator), g.epochs, g.min_steps, cfg.train.max_steps)
    loop = LoopConfig(stage="gcn", steps=steps, warmup_ratio=g.warmup_ratio, log_every=cfg.train.log_every,
                      checkpoint_every=cfg.train.checkpoint_every, budget_knob="gcn.min_steps", save_buffers=True)

    # gcn_text trains on the seen classes' columns only: labels renumbered among them
    renumber = (torch.tensor(seen_mask(ds.classes, cfg)).long().cumsum(0) - 1).to(accelerator.device)

    def loss_fn(m, batch):
        return torch.nn.functional.cross_entropy(m(batch["x"]), renumber[batch["y"]], label_smoothing=g.label_smoothing)

    def evaluate(m, indices):
        scores, labels = classifier_scores(m, ds, indices, cfg, accelerator)
        seen = renumber[torch.as_tensor(labels, device=renumber.device)].cpu()
        logits = torch.as_tensor(scores)[:, torch.tensor(seen_mask(ds.classes, cfg))]
        return float((logits.argmax(1) == seen).float().mean()), float(torch.nn.functional.cross_entropy(logits, seen))

    result = train_stage(model, loss_fn, make_optimizer, loader_for, loop, data, evaluate=evaluate, train_cfg=cfg.train,
                         accelerator=accelerator, run_dir=run_dir, logger=logger, resume=resume)
    model = accelerator.unwrap_model(model)
    if accelerator.is_main_process:
        atomic_save_safetensors({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
                                run_dir / "gcn" / "model.safetensors")
    metrics = evaluate_classifier(model, ds, test_idx, cfg, accelerator)
    if "validation" in result:
        metrics["budget"] = {"gcn": result["validation"]}
    return metrics


def stage_data(ds, train_idx, cfg: Config, accelerator):
    """The run's training clips, and under ``train.budget: validation`` the validation part carved from them."""
    from llmar.training.trainer import StageData

    if cfg.train.budget == "fixed":
        return StageData(train_idx)
    fit_idx, val_idx, how = validation_split(ds, train_idx, cfg.train.validation_share)
    accelerator.print(f"budget: validation on {how}, the rest ({len(fit_idx)} clips) to fit")
    return StageData(train_idx, fit_idx, val_idx, how)


@torch.no_grad()
def classifier_scores(model, ds, indices, cfg, accelerator) -> tuple[np.ndarray, np.ndarray]:
    """Log-probabilities [N, K] and labels [N] of a classifier over ``indices`` (each clip once)."""
    was_training = model.training
    model.eval()
    loader = accelerator.prepare(make_loader(ds, indices, cfg, train=False, batch_size=cfg.train.eval_batch_size))
    scores, labels = [], []
    for batch in loader:
        s, y = accelerator.gather_for_metrics((model(batch["x"]).log_softmax(-1), batch["y"]))
        scores.append(s.cpu())
        labels.append(y.cpu())
    model.train(was_training)
    return torch.cat(scores).numpy(), torch.cat(labels).numpy()


def evaluate_classifier(model, ds, test_idx, cfg, accelerator) -> dict:
    start = time.time()
    scores, labels = classifier_scores(model, ds, test_idx, cfg, accelerator)
    seconds = time.time() - start
    metrics = classification_metrics(scores, labels, ds.classes)
    if cfg.data.unseen_classes:
        metrics.update(zero_shot_metrics(scores, labels, ds.classes, cfg.data.unseen_classes))
    metrics.update({"eval_seconds": seconds, "eval_samples_per_second": metrics["num_samples"] / max(seconds, 1e-9)})
    return metrics


def build_gcn(cfg: Config, ds):
    """The baseline network for a dataset, as ``cfg.gcn`` describes it (training and reloading alike)."""
    from llmar.baseline.ctrgcn import CTRGCN, GCNConfig

    g = cfg.gcn
    backbone = CTRGCN(len(ds.classes), ds.layout, ds.num_coords, cfg.data.max_bodies,
                      GCNConfig(base_channels=g.base_channels, num_stages=g.num_stages, dropout=g.dropout))
    if cfg.model != "gcn_text":
        return backbone
    from llmar.baseline.text_embedding import TextEmbeddingClassifier

    seen = torch.tensor(seen_mask(ds.classes, cfg))
    return TextEmbeddingClassifier(backbone, class_text_embeddings(cfg, list(ds.classes)), seen)


def load_gcn(run_dir: Path, cfg: Config, ds):
    from safetensors.torch import load_file

    model = build_gcn(cfg, ds)
    model.load_state_dict(load_file(run_dir / "gcn" / "model.safetensors"))
    return model.eval()


def evaluate_run(run_dir: str | Path, out_dir: str | Path | None = None, all_scores: bool = False) -> dict:
    """Re-evaluate a saved run on its test split (llmar or gcn) and write the report (``all_scores``: LLM-AR
    scores every name instead of finding each clip's top k by the exact trie search)."""
    run_dir = Path(run_dir)
    cfg = Config.load(run_dir / "config.yaml")
    accelerator = make_accelerator(cfg)
    ds = load_data(cfg)
    _, test_idx = split_indices(ds, cfg)
    if cfg.model in GCN_MODELS:
        metrics = evaluate_classifier(load_gcn(run_dir, cfg, ds), ds, test_idx, cfg, accelerator)
    else:
        from llmar.llm.pretrained import load_recognizer

        _, model, _ = load_recognizer(run_dir, device=accelerator.device)
        metrics = evaluate_model(model, ds, test_idx, cfg, accelerator, all_scores=all_scores)
    metrics["peak_rss_gb"] = peak_rss_gb()
    if accelerator.is_main_process:
        write_report(metrics, ds.classes, Path(out_dir) if out_dir else run_dir / "eval")
    return metrics


__all__ = ["train", "evaluate_run"]

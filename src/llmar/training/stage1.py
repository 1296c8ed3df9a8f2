"""Stage 1: train the action VQ-VAE (linguistic projection) and write its diagnostics."""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from llmar.config import Stage1Config
from llmar.projection.diagnostics import projection_diagnostics
from llmar.projection.objective import class_head_size, reconstruction_error, stage1_losses
from llmar.projection.vqvae import ActionVQVAE
from llmar.training.context import RunContext
from llmar.training.data import make_loader, set_epoch
from llmar.training.logging import warn_if_still_falling
from llmar.training.validation import (
    DECAY_SHARE,
    PlateauSchedule,
    Validation,
    ValidationTracker,
    describe,
    restore,
    trainable_copy,
)
from llmar.utils import atomic_save_json, seed_everything


def embedding_sample(llm, tokenizer, size: int = 8192, seed: int = 0) -> torch.Tensor:
    """A fixed random sample of the LLM's input embeddings (special tokens excluded), the target
    distribution of the MMD alignment: as the embedding module returns them, so that models which scale
    their rows on the way in (Gemma: by the square root of the width) are matched at the scale the LLM
    reads text at."""
    table = llm.get_input_embeddings()
    special = set(tokenizer.all_special_ids)
    candidates = torch.tensor([i for i in range(table.num_embeddings) if i not in special])
    g = torch.Generator().manual_seed(seed)
    pick = candidates[torch.randperm(len(candidates), generator=g)[:size]]
    with torch.no_grad():
        return table(pick).float()


def sync_codebook(codebook, accelerator) -> None:
    """Resets change parameters outside the optimizer: give every process rank 0's codebook."""
    if accelerator.num_processes > 1:
        for t in (codebook.codes.data, codebook.usage):
            dist.broadcast(t, src=0)


def stage1_epochs(cfg: Stage1Config, batches_per_epoch: int) -> int:
    """``stage1.epochs``, or more when that is fewer than ``stage1.min_steps`` steps."""
    return max(cfg.epochs, math.ceil(cfg.min_steps / max(batches_per_epoch, 1)))


def train_projection(vqvae: ActionVQVAE, loader, embeddings: torch.Tensor, accelerator, logger, *, settings: Stage1Config,
                     seed: int = 0, validation: Validation | None = None, replay: PlateauSchedule | None = None) -> dict:
    """Stage 1 for ``stage1.epochs`` passes (at least ``stage1.min_steps`` steps) under a cosine decay; or,
    with ``validation`` (evaluated at the end of every pass), warm-up, the full rate until validation stops
    improving, a decay, and the best-validation weights restored (training/validation.py); or ``replay``, such
    a schedule as decided. ``settings``: the losses' weights and the optimiser. Returns the steps, and the
    schedule and tracker under validation."""
    cfg = settings
    opt = torch.optim.AdamW([p for p in vqvae.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=cfg.weight_decay)
    fixed = stage1_epochs(cfg, len(loader)) * len(loader)
    plateau = replay or (PlateauSchedule(max(1, int(0.05 * fixed))) if validation else None)
    tracker, best = (ValidationTracker(validation.patience) if validation else None), None

    def horizon() -> int:
        if plateau is None:
            return fixed
        return plateau.total or validation.max_steps + math.ceil(DECAY_SHARE * validation.max_steps)

    def cosine(s: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * min(s, fixed) / max(fixed, 1)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, plateau or cosine)
    model, opt, loader_p, sched = accelerator.prepare(vqvae, opt, loader, sched)
    g = torch.Generator().manual_seed(seed)
    embeddings = embeddings.to(accelerator.device)
    batch_rows = min(len(embeddings), max(vqvae.cfg.num_codes, 512))
    with torch.no_grad():  # start the codebook on real encoder outputs instead of tiny random codes
        first = next(iter(loader_p))
        z, mask = accelerator.unwrap_model(model).encode(first["x"])
        codebook = accelerator.unwrap_model(model).codebook
        codebook.usage.zero_()
        codebook.reset_dead_codes(z[mask].flatten(0, 1))
        sync_codebook(codebook, accelerator)
    step = 0
    bar = tqdm(total=horizon(), desc="stage 1: action VQ-VAE", disable=not accelerator.is_main_process, unit="step")
    losses: list[float] = []
    for epoch in itertools.count():
        if step >= horizon():
            break
        set_epoch(loader_p, epoch)
        model.train()
        last_z = None
        for batch in loader_p:
            rows = embeddings[torch.randint(len(embeddings), (batch_rows,), generator=g)]
            labels = batch.get("y")
            out = model(batch["x"])
            terms = stage1_losses(accelerator.unwrap_model(model), out, batch["x"], cfg, rows, labels)
            if not torch.isfinite(terms["total"]):
                listed = ", ".join(f"{k}={v.item():.4g}" for k, v in terms.items())
                raise FloatingPointError(
                    f"stage 1 diverged at step {step} (epoch {epoch}): {listed}. Lower stage1.lr or set "
                    "stage1.grad_clip (e.g. 1.0); the run folder keeps the config for a retry."
                )
            opt.zero_grad(set_to_none=True)
            accelerator.backward(terms["total"])
            if cfg.grad_clip:
                accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            last_z = out.z.detach()[out.body_mask]
            losses.append(float(terms["total"].detach()))
            step += 1
            bar.update(1)
            if step % 10 == 0 or step == horizon():
                values = {k: v.item() for k, v in terms.items()}
                bar.set_postfix(recon=f"{values['recon']:.4f}", total=f"{values['total']:.3f}")
                codebook = accelerator.unwrap_model(model).codebook
                logger.log("stage1", step, **values, lr=sched.get_last_lr()[0], epoch=epoch,
                           codes_in_use=int((~codebook.dead_codes()).sum()))
            if step >= horizon():
                break
        if validation:
            accuracy, val_loss = validation.evaluate(accelerator.unwrap_model(model))
            if tracker.update(step, accuracy, val_loss):
                best = trainable_copy(accelerator.unwrap_model(model))
            if plateau.stable_end is None and validation.decay_now(step, tracker):
                plateau.start_decay(step)
                bar.total = horizon()
            logger.log("stage1_validation", step, accuracy=accuracy, loss=val_loss, stable_end=plateau.stable_end)
        if last_z is not None and step < horizon():
            # codes nobody picks are wasted vocabulary: re-seed them from current encoder outputs
            codebook = accelerator.unwrap_model(model).codebook
            reset = codebook.reset_dead_codes(last_z.flatten(0, 1))
            sync_codebook(codebook, accelerator)
            if reset:
                logger.log("stage1", step, dead_codes_reset=int(reset))
    bar.close()
    if validation:
        if best is not None:
            restore(accelerator.unwrap_model(model), best)
    elif replay is None:  # a replay's length was chosen on validation: no step floor to raise
        warn_if_still_falling(losses, "stage 1", "stage1.min_steps")
    accelerator.wait_for_everyone()
    return {"steps": step, "schedule": plateau, "tracker": tracker}


@torch.no_grad()
def validation_metrics(vqvae: ActionVQVAE, loader, device, settings: Stage1Config) -> tuple[float, float]:
    """(accuracy of the class head, its cross-entropy) over a loader; without a class head (0.0, the weighted
    VQ-VAE loss under ``settings``), so that validation follows the reconstruction alone."""
    was_training = vqvae.training
    vqvae.eval()
    hits, losses, count = 0.0, 0.0, 0
    for batch in loader:
        x, y = batch["x"].to(device), batch["y"].to(device)
        out = vqvae(x)
        n = len(y)
        if (logits := vqvae.class_logits(out)) is not None:
            hits += float((logits.argmax(-1) == y).sum())
            losses += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
        else:
            losses += float(stage1_losses(vqvae, out, x, settings)["total"]) * n
        count += n
    vqvae.train(was_training)
    return hits / max(count, 1), losses / max(count, 1)


@torch.no_grad()
def collect_tokens(vqvae: ActionVQVAE, loader, device) -> tuple[np.ndarray, float]:
    """Tokens of every present body [n, T'] and the mean reconstruction error over a loader."""
    vqvae.eval()
    tokens, errors, weights = [], [], []
    for batch in loader:
        x = batch["x"].to(device)
        out = vqvae(x)
        tokens.append(out.indices[out.body_mask].cpu().numpy())
        errors.append(float(reconstruction_error(out, x)))
        weights.append(int(out.body_mask.sum()))
    return np.concatenate(tokens), float(np.average(errors, weights=weights))


def run_stage1(ctx: RunContext, embeddings: torch.Tensor, llm_width: int) -> ActionVQVAE:
    """Stage 1 of a run: train the action VQ-VAE on the run's training clips (``ctx.data``), write
    ``run_dir/stage1`` (weights + diagnostics, and the validation summary when the budget followed one) on
    rank 0, and return it reloaded from there, so that every process continues from identical weights."""
    cfg, ds, accelerator, logger, data = ctx.cfg, ctx.ds, ctx.accelerator, ctx.logger, ctx.data
    stage1_dir = ctx.run_dir / "stage1"
    # seeded here, not only at the start of the run: loading the LLM draws from the global RNG (module
    # init before its weights arrive), and stage 1 must not depend on what ran before it
    seed_everything(cfg.train.seed)
    p = cfg.stage1

    def loader_for(indices):
        return make_loader(ds, indices, cfg, train=True, batch_size=p.batch_size)

    vqvae = ActionVQVAE(cfg.projection, ds.layout, ds.num_coords, llm_width, class_head_size(p, len(ds.classes)))
    summary = None
    if data.validation is None:
        train_projection(vqvae, loader_for(data.train), embeddings, accelerator, logger, settings=p, seed=cfg.train.seed)
    else:
        initial = trainable_copy(vqvae)
        fit_loader, full_batches = loader_for(data.fit), len(loader_for(data.train))
        val_loader = make_loader(ds, data.validation, cfg, train=False, batch_size=p.batch_size)
        plan = Validation.around(lambda m: validation_metrics(m, val_loader, accelerator.device, p),
                                 every=len(fit_loader), patience=cfg.train.validation_patience,
                                 fixed_steps=stage1_epochs(p, full_batches) * full_batches,
                                 fit_clips=len(data.fit), all_clips=len(data.train))
        result = train_projection(vqvae, fit_loader, embeddings, accelerator, logger, settings=p, seed=cfg.train.seed,
                                  validation=plan)
        schedule, tracker = result["schedule"], result["tracker"]
        if cfg.train.validation_weights == "retrain":
            restore(accelerator.unwrap_model(vqvae), initial)
            seed_everything(cfg.train.seed)
            schedule = schedule.scaled(len(data.train) / len(data.fit))
            train_projection(vqvae, loader_for(data.train), embeddings, accelerator, logger, settings=p,
                             seed=cfg.train.seed, replay=schedule)
        summary = {"how": data.how, "best_step": tracker.best_step, "best_accuracy": tracker.best_accuracy,
                   "stable_end": schedule.stable_end, "decay_steps": schedule.decay_steps, "history": tracker.history,
                   "weights": cfg.train.validation_weights,
                   "summary": describe("stage 1", tracker, schedule, cfg.train.validation_weights)}
        accelerator.print(summary["summary"])
    vqvae = accelerator.unwrap_model(vqvae)
    if accelerator.is_main_process:
        plain = make_loader(ds, data.train, cfg, train=False, batch_size=p.batch_size)
        tokens, recon = collect_tokens(vqvae, plain, accelerator.device)
        diag = projection_diagnostics(vqvae, tokens, recon, embeddings, stage1_dir, zipf_exponent=p.zipf_exponent)
        logger.log("stage1_diagnostics", 0, **{k: v for k, v in diag.items() if isinstance(v, (int, float))})
        if summary is not None:
            atomic_save_json(summary, stage1_dir / "budget.json")
        vqvae.save_pretrained(stage1_dir)  # after diagnostics: its presence marks stage 1 as finished
    accelerator.wait_for_everyone()
    return ActionVQVAE.from_pretrained(stage1_dir)


__all__ = ["run_stage1", "train_projection", "validation_metrics", "embedding_sample", "collect_tokens", "projection_diagnostics"]

"""One training loop for every model that trains by optimizer steps: LLM-AR's stage 2 and the graph
baseline. It owns the schedule (linear warm-up, cosine decay), the step budget, gradient accumulation,
clipping, atomic checkpoints with exact resume, and logging of the loss curve.

The model-specific part is a ``loss_fn(model, batch) -> loss`` and the optimizer's parameter groups.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate.utils import gather_object
from tqdm.auto import tqdm

from llmar.training.checkpoint import latest_checkpoint, load_checkpoint, rng_state, save_checkpoint
from llmar.training.data import set_epoch
from llmar.training.logging import warn_if_still_falling


@dataclass
class LoopConfig:
    stage: str  # name in logs and the progress bar
    steps: int  # optimizer steps in all
    warmup_ratio: float = 0.05
    grad_clip: float | None = None
    log_every: int = 10
    checkpoint_every: int = 200
    budget_knob: str = "train.min_steps"  # named in the warning when training ends while the loss still falls
    save_buffers: bool = False  # checkpoints also hold the model's buffers (BatchNorm statistics)


def batches_per_process(loader, accelerator) -> int:
    """Batches one process sees per epoch once accelerate shards ``loader`` (what step budgets count)."""
    return math.ceil(len(loader) / accelerator.num_processes)


def epoch_steps(batches_per_epoch: int, grad_accum: int = 1) -> int:
    return math.ceil(batches_per_epoch / grad_accum)


def budget(batches_per_epoch: int, epochs: int, min_steps: int = 0, max_steps: int | None = None,
           grad_accum: int = 1) -> int:
    """Optimizer steps: ``epochs`` passes, but at least ``min_steps`` (a small set needs more passes to
    train at all), capped by ``max_steps``."""
    steps = max(epoch_steps(batches_per_epoch, grad_accum) * epochs, min_steps)
    return min(steps, max_steps) if max_steps else steps


def warmup_cosine(steps: int, warmup_ratio: float):
    warmup = max(1, int(steps * warmup_ratio))

    def schedule(s: int) -> float:
        if s < warmup:
            return (s + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warmup) / max(1, steps - warmup))))

    return schedule


def fit(model: torch.nn.Module, loss_fn, loader, optimizer: torch.optim.Optimizer, loop: LoopConfig, accelerator,
        run_dir: Path, logger, resume: bool = False, on_train_mode=None) -> dict:
    """Train ``model`` for ``loop.steps`` optimizer steps over as many passes of ``loader`` as that takes.

    Checkpoints go to ``run_dir/checkpoints`` every ``loop.checkpoint_every`` steps and at the end. With
    ``resume``, the newest one restores weights, optimizer, scheduler and random state, and the batches of
    the interrupted epoch already used are skipped, so the run continues exactly where it stopped.
    ``on_train_mode(model)`` runs after ``model.train()`` (e.g. to keep frozen parts in eval mode).
    """
    # the loader is prepared first: with N processes each one sees 1/N of the batches, and the step
    # budget was counted on that
    ploader = accelerator.prepare(loader)
    sched = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(loop.steps, loop.warmup_ratio))
    ckpt_dir = run_dir / "checkpoints"
    progress = {"step": 0, "epoch": 0, "batch": 0}
    if resume and (last := latest_checkpoint(ckpt_dir)) is not None:
        progress = load_checkpoint(last, model, optimizer, sched, rank=accelerator.process_index)
        accelerator.print(f"resumed from {last} (step {progress['step']}, epoch {progress['epoch']})")
    # the scheduler is stepped by hand once per optimizer step: accelerate's wrapper would step it once per
    # process, which runs the schedule N times too fast
    pmodel, popt = accelerator.prepare(model, optimizer)
    step = progress["step"]
    bar = tqdm(total=loop.steps, initial=step, desc=loop.stage, disable=not accelerator.is_main_process, unit="step")
    losses: list[float] = []
    done = step >= loop.steps
    for epoch in itertools.count(progress["epoch"]):
        if done:
            break
        set_epoch(ploader, epoch)
        pmodel.train()
        if on_train_mode is not None:
            on_train_mode(accelerator.unwrap_model(pmodel))
        skip = progress["batch"] if epoch == progress["epoch"] else 0
        batches = accelerator.skip_first_batches(ploader, skip) if skip else ploader
        for batch_index, batch in enumerate(batches, start=skip):
            with accelerator.accumulate(pmodel):
                loss = loss_fn(pmodel, batch)
                accelerator.backward(loss)
                if loop.grad_clip and accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(pmodel.parameters(), loop.grad_clip)
                popt.step()
                if accelerator.sync_gradients and not accelerator.optimizer_step_was_skipped:
                    sched.step()
                popt.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            if not accelerator.sync_gradients:
                continue
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-10:]):.3f}")
            if step % loop.log_every == 0 or step == loop.steps:
                logger.log(loop.stage, step, loss=float(np.mean(losses[-loop.log_every:])),
                           lr=sched.get_last_lr()[0], epoch=epoch)
            at_end_of_epoch = batch_index + 1 == len(ploader)
            progress = {"step": step, "epoch": epoch + 1 if at_end_of_epoch else epoch,
                        "batch": 0 if at_end_of_epoch else batch_index + 1}
            if step % loop.checkpoint_every == 0 or step >= loop.steps:
                rngs = gather_object([rng_state()])  # every process's random state, for an exact resume
                if accelerator.is_main_process:
                    save_checkpoint(ckpt_dir, accelerator.unwrap_model(pmodel), optimizer, sched, progress, rng=rngs,
                                    buffers=loop.save_buffers)
                accelerator.wait_for_everyone()
            if step >= loop.steps:
                done = True
                break
    bar.close()
    warn_if_still_falling(losses, loop.stage, loop.budget_knob)
    return {"steps": step, "final_loss": float(np.mean(losses[-10:])) if losses else None}


__all__ = ["LoopConfig", "batches_per_process", "budget", "fit", "warmup_cosine"]

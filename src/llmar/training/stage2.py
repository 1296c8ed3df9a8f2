"""Stage 2: LoRA-tune the frozen LLM to answer with the action's name; evaluation by class scoring."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from accelerate.utils import gather_object
from tqdm.auto import tqdm

from llmar.config import Config
from llmar.llm.recognizer import LLMActionRecognizer
from llmar.training.checkpoint import latest_checkpoint, load_checkpoint, rng_state, save_checkpoint
from llmar.training.data import set_epoch


def attach_finetuning(llm, cfg: Config):
    """Wrap the frozen LLM per ``llm.finetune``: LoRA adapters (peft), full fine-tuning, or nothing."""
    mode = cfg.llm.finetune
    if mode == "lora":
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=cfg.llm.lora_r, lora_alpha=cfg.llm.lora_alpha, lora_dropout=cfg.llm.lora_dropout,
                          target_modules=list(cfg.llm.lora_targets), task_type="CAUSAL_LM")
        return get_peft_model(llm, lora)
    if mode == "full":
        llm.requires_grad_(True)
        return llm
    if mode == "none":
        return llm
    raise ValueError(f"llm.finetune must be lora, full or none, got {mode!r}")


def set_trainable(model: LLMActionRecognizer) -> None:
    """The VQ-VAE stays frozen in stage 2; the code-to-LLM projection trains unless codes are snapped."""
    model.vqvae.requires_grad_(False)
    model.vqvae.to_llm.requires_grad_(model.cfg.entry != "snap")


def param_groups(model: LLMActionRecognizer, cfg: Config) -> list[dict]:
    projection = [p for p in model.vqvae.parameters() if p.requires_grad]
    ids = {id(p) for p in projection}
    llm = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    groups = []
    if llm:
        groups.append({"params": llm, "lr": cfg.train.lr})
    if projection:
        groups.append({"params": projection, "lr": cfg.train.projection_lr})
    if not groups:
        raise ValueError("nothing to train: llm.finetune is 'none' and llm.entry is 'snap'")
    return groups


def total_steps(cfg: Config, batches_per_epoch: int) -> int:
    per_epoch = math.ceil(batches_per_epoch / cfg.train.grad_accum)
    steps = per_epoch * cfg.train.epochs
    return min(steps, cfg.train.max_steps) if cfg.train.max_steps else steps


def train_recognizer(model: LLMActionRecognizer, loader, cfg: Config, accelerator, run_dir: Path, logger,
                     resume: bool = False) -> dict:
    """Train with checkpoints every ``train.checkpoint_every`` optimizer steps and at the end.

    Resuming restores weights, optimizer, scheduler and random state, then skips the batches of the
    interrupted epoch that were already used, so the run continues exactly where it stopped.
    """
    tc = cfg.train
    opt = torch.optim.AdamW(param_groups(model, cfg), weight_decay=tc.weight_decay)
    # the loader is prepared first: with N processes each one sees 1/N of the batches, so an epoch has
    # len(ploader) of them, and that is what the schedule and train.max_steps count
    ploader = accelerator.prepare(loader)
    steps = total_steps(cfg, len(ploader))
    warmup = max(1, int(steps * tc.warmup_ratio))

    def schedule(s: int) -> float:  # linear warm-up, cosine decay
        if s < warmup:
            return (s + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warmup) / max(1, steps - warmup))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    ckpt_dir = run_dir / "checkpoints"
    progress = {"step": 0, "epoch": 0, "batch": 0}
    if resume and (last := latest_checkpoint(ckpt_dir)) is not None:
        progress = load_checkpoint(last, model, opt, sched, rank=accelerator.process_index)
        accelerator.print(f"resumed from {last} (step {progress['step']}, epoch {progress['epoch']})")
    # the scheduler is stepped by hand once per optimizer step: accelerate's wrapper would step it once per
    # process, which runs the schedule N times too fast unless every step count above is multiplied by N
    pmodel, popt = accelerator.prepare(model, opt)
    step = progress["step"]
    bar = tqdm(total=steps, initial=step, desc="stage 2: LLM + LoRA", disable=not accelerator.is_main_process,
               unit="step")
    losses: list[float] = []
    done = step >= steps
    for epoch in range(progress["epoch"], tc.epochs):
        if done:
            break
        set_epoch(ploader, epoch)
        pmodel.train()
        model.vqvae.eval()  # frozen: in training mode its codebook would update usage statistics per process
        skip = progress["batch"] if epoch == progress["epoch"] else 0
        batches = accelerator.skip_first_batches(ploader, skip) if skip else ploader
        for batch_index, batch in enumerate(batches, start=skip):
            with accelerator.accumulate(pmodel):
                loss = pmodel(batch["x"], batch["y"])
                accelerator.backward(loss)
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
            if step % tc.log_every == 0 or step == steps:
                logger.log("stage2", step, loss=float(np.mean(losses[-tc.log_every:])),
                           lr=sched.get_last_lr()[0], epoch=epoch)
            at_end_of_epoch = batch_index + 1 == len(ploader)
            progress = {"step": step, "epoch": epoch + 1 if at_end_of_epoch else epoch,
                        "batch": 0 if at_end_of_epoch else batch_index + 1}
            if step % tc.checkpoint_every == 0 or step >= steps:
                rngs = gather_object([rng_state()])  # every process's random state, for an exact resume
                if accelerator.is_main_process:
                    save_checkpoint(ckpt_dir, accelerator.unwrap_model(pmodel), opt, sched, progress, rng=rngs)
                accelerator.wait_for_everyone()
            if step >= steps:
                done = True
                break
    bar.close()
    return {"steps": step, "final_loss": float(np.mean(losses[-10:])) if losses else None}


@torch.no_grad()
def score_loader(model: LLMActionRecognizer, loader, accelerator, class_ids=None, desc="evaluating"):
    """Scores [N, K], labels [N] and dataset indices [N], gathered over processes, each sample once."""
    model.eval()
    ploader = accelerator.prepare(loader)
    scores, labels, indices = [], [], []
    for batch in tqdm(ploader, desc=desc, disable=not accelerator.is_main_process, unit="batch"):
        s = model.score(batch["x"], class_ids)
        s, y, i = accelerator.gather_for_metrics((s, batch["y"], batch["index"]))
        scores.append(s.float().cpu())
        labels.append(y.cpu())
        indices.append(i.cpu())
    return torch.cat(scores).numpy(), torch.cat(labels).numpy(), torch.cat(indices).numpy()

"""Seconds per stage-2 optimizer step (forward, backward, AdamW) on NW-UCLA-shaped input, for config variants.

    python benchmarks/stage2_step_time.py                                   # configs/nw_ucla.yaml
    python benchmarks/stage2_step_time.py --set llm.attention=sdpa --set llm.lora_dropout=0.05

Random clips of batch ``train.batch_size`` (64 frames, Kinect-20 layout, one body) and NW-UCLA's ten class
names; the VQ-VAE is untrained (its cost is the same). Prints the median of ``--steps`` timed steps after
three warm-up steps, as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from llmar.config import Config
from llmar.data.layout import KINECT20
from llmar.llm.loading import load_llm
from llmar.llm.recognizer import LLMActionRecognizer
from llmar.projection.vqvae import ActionVQVAE
from llmar.training.stage2 import attach_finetuning, param_groups, set_trainable

NAMES = ["pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down", "stand up",
         "donning", "doffing", "throw", "carry"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("config", nargs="?", default="configs/nw_ucla.yaml")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args()
    cfg = Config.load(args.config, args.set)
    torch.manual_seed(0)
    llm, tok = load_llm(cfg.llm.path, cfg.llm.dtype, attention=cfg.llm.attention)
    vq = ActionVQVAE(cfg.projection, KINECT20, 3, llm.get_input_embeddings().embedding_dim, len(NAMES)).eval()
    model = LLMActionRecognizer(cfg.llm, vq, attach_finetuning(llm, cfg), tok, NAMES)
    set_trainable(model)
    opt = torch.optim.AdamW(param_groups(model, cfg))
    b = cfg.train.batch_size
    x, y = torch.randn(b, 1, cfg.data.num_frames, 20, 3), torch.arange(b) % len(NAMES)
    model.train()
    model.vqvae.eval()
    times = []
    for i in range(3 + args.steps):
        start = time.perf_counter()
        model(x, y).backward()
        opt.step()
        opt.zero_grad()
        if i >= 3:
            times.append(time.perf_counter() - start)
    print(json.dumps({"config": args.config, "overrides": args.set, "attention": llm.config._attn_implementation,
                      "tokens_per_body": int(model.encode_actions(x[:1])[0].shape[-1]),
                      "seconds_per_step_median": statistics.median(times), "steps": args.steps}))


if __name__ == "__main__":
    main()

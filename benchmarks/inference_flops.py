"""LLM inference cost on this machine: achieved FLOP/s of the recognizer's scoring forward against a
plain large matrix product measured in the same run, and the saving of the shared prompt prefix.

    python benchmarks/inference_flops.py [--dtype bfloat16] [--batch 16] [--classes 10]

FLOPs of a forward are counted as 2 x (non-embedding parameters) x tokens + 2 x lm_head x scored
positions + attention (4 x layers x hidden x query x key positions).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from llmar.config import Config
from llmar.data.layout import NTU25
from llmar.llm.loading import load_llm
from llmar.llm.prompts import last_positions
from llmar.llm.recognizer import LLMActionRecognizer
from llmar.projection.vqvae import ActionVQVAE
from llmar.training.stage2 import attach_finetuning


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def matmul_rate(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / timed(lambda: a @ b, repeats)


def forward_flops(cfg, tokens: int, attended: int, scored: int) -> float:
    h, layers, inter = cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size
    kv = cfg.num_key_value_heads * (h // cfg.num_attention_heads)
    per_token = layers * (2 * h * h + 2 * h * kv + 3 * h * inter)  # q,o + k,v + gated MLP
    attention = 4 * layers * h * attended  # scores + weighted sum, summed over query positions
    return 2 * per_token * tokens + attention + 2 * h * cfg.vocab_size * scored


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.manual_seed(0)
    dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32}[args.dtype]
    cfg = Config.from_dict({"preset": "paper"})  # token entry: the sentence as token ids, as measured
    cfg.llm.dtype = args.dtype
    llm, tok = load_llm(None, args.dtype)
    vq = ActionVQVAE(cfg.projection, NTU25, 3, llm.config.hidden_size).eval()
    names = [f"action number {i}" for i in range(args.classes)]
    model = LLMActionRecognizer(cfg.llm, vq, attach_finetuning(llm, cfg), tok, names).eval()
    x = torch.randn(args.batch, 1, 64, 25, 3)
    tokens, mask, _ = model.encode_actions(x)
    ids, attn, pos = model.build_inputs(tokens, mask)
    prompt_len = ids.shape[1]
    answer_len = max(len(a) for a in model.answer_ids)

    with torch.no_grad():
        shared = timed(lambda: model.score(x), args.repeats)

        def naive():  # every (sample, class) pair runs the whole prompt again
            for k in range(args.classes):
                answers = [model.answer_ids[k]] * args.batch
                i2, a2, p2 = model.build_inputs(tokens, mask, answers)
                model.llm(inputs_embeds=model.embed(i2), attention_mask=a2, position_ids=p2,
                          logits_to_keep=last_positions(i2, answer_len + 1))

        naive_t = timed(naive, max(1, args.repeats // 2))
        prompt_only = timed(lambda: model.llm(inputs_embeds=model.embed(ids), attention_mask=attn,
                                              position_ids=pos, logits_to_keep=last_positions(ids, 1)),
                            args.repeats)
    b, c = args.batch, args.classes
    flops_prompt = forward_flops(llm.config, b * prompt_len, b * prompt_len * (prompt_len + 1) // 2, b)
    cont = answer_len - 1
    flops_cont = forward_flops(llm.config, b * c * cont, b * c * cont * prompt_len, b * c * cont)
    rate = matmul_rate(dtype)
    rate32 = matmul_rate(torch.float32) if dtype != torch.float32 else rate
    achieved_prompt = flops_prompt / prompt_only
    achieved_score = (flops_prompt + flops_cont) / shared
    print(f"prompt length {prompt_len}, batch {b}, classes {c}, dtype {args.dtype}")
    print(f"matmul 2048^3 {args.dtype}: {rate / 1e9:.1f} GFLOP/s (float32: {rate32 / 1e9:.1f})")
    print(f"prompt forward: {prompt_only * 1e3:.0f} ms, {achieved_prompt / 1e9:.1f} GFLOP/s "
          f"= {100 * achieved_prompt / rate:.0f}% of matmul")
    print(f"full scoring (shared prefix): {shared * 1e3:.0f} ms, {achieved_score / 1e9:.1f} GFLOP/s "
          f"= {100 * achieved_score / rate:.0f}% of matmul, {b / shared:.1f} samples/s")
    print(f"naive scoring (prompt recomputed per class): {naive_t * 1e3:.0f} ms -> shared prefix is "
          f"{naive_t / shared:.1f}x faster")


if __name__ == "__main__":
    main()

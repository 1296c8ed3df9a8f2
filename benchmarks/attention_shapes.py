"""The top-k search's tree attention alone, at its shapes: torch's SDPA against grouped matmul attention.

    python benchmarks/attention_shapes.py

One SmolLM2-135M layer's attention (9 query heads, 3 key/value heads, head width 64) for a batch of 16
samples: each sample has a few query rows (the open trie slots of one round) over the prompt's keys plus
every trie slot, under a random mask. Prints milliseconds per call and the largest difference from SDPA
with an additive mask (the search's current kernel). Run it alone: it times one process's kernels.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

BATCH, HEADS, KV_HEADS, HEAD_DIM, PROMPT = 16, 9, 3, 64, 57
SHAPES = [("10 names", 2, 40), ("27 names", 8, 120), ("120 names", 8, 495)]  # (label, query rows, trie slots)


def per_call_ms(fn, calls: int = 50) -> float:
    for _ in range(5):
        fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e3


def grouped_attention(q, k, v, additive_mask, dtype):
    """Each key/value head's query heads stacked into one matrix product, softmax in fp32."""
    b, h, w, d = q.shape
    kvh, keys, group = k.shape[1], k.shape[2], h // k.shape[1]
    scores = torch.matmul(q.reshape(b, kvh, group * w, d).to(dtype), k.to(dtype).transpose(-1, -2)).float()
    scores = scores.reshape(b, kvh, group, w, keys) * d**-0.5 + additive_mask.float()[:, :, None]
    probs = scores.softmax(-1).to(dtype).reshape(b, kvh, group * w, keys)
    return torch.matmul(probs, v.to(dtype)).reshape(b, h, w, d)


def kernels(q, k, v, additive, allowed) -> dict:
    return {
        "sdpa additive": lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=additive, enable_gqa=True),
        "sdpa bool": lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, enable_gqa=True),
        "grouped bf16": lambda: grouped_attention(q, k, v, additive, torch.bfloat16),
        "grouped fp32": lambda: grouped_attention(q, k, v, additive, torch.float32),
    }


def main() -> None:
    torch.manual_seed(0)
    for label, rows, slots in SHAPES:
        keys = PROMPT + slots
        q = torch.randn(BATCH, HEADS, rows, HEAD_DIM, dtype=torch.bfloat16)
        k = torch.randn(BATCH, KV_HEADS, keys, HEAD_DIM, dtype=torch.bfloat16)
        v = torch.randn(BATCH, KV_HEADS, keys, HEAD_DIM, dtype=torch.bfloat16)
        allowed = torch.rand(BATCH, 1, rows, keys) < 0.3
        allowed[..., 0] = True
        additive = torch.zeros(allowed.shape, dtype=torch.bfloat16).masked_fill_(~allowed, torch.finfo(torch.bfloat16).min)
        variants = kernels(q, k, v, additive, allowed)
        reference = variants["sdpa additive"]().float()
        for name, fn in variants.items():
            diff = (fn().float() - reference).abs().max().item()
            print(f"{label:10s} rows={rows} keys={keys:4d} {name:14s} {per_call_ms(fn):7.3f} ms  max|diff| {diff:.4f}")


if __name__ == "__main__":
    main()

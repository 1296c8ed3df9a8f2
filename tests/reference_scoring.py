"""The scoring before the trie, kept as a reference: every name by one row per (sample, name) on the
prompt's key/value cache, names fed in chunks.

The trie (``llmar.llm.scoring``) must give the same numbers in float32 (tests/test_name_search.py);
benchmarks/topk_scoring.py times it against the trie. In bf16 it rounds differently, because its calls
have other shapes than the trie's.
"""

from __future__ import annotations

import copy

import torch

from llmar.llm.recognizer import LLMActionRecognizer


@torch.no_grad()
def per_name_scores(model: LLMActionRecognizer, x: torch.Tensor, class_ids: list[list[int]],
                    chunk_rows: int = 256) -> torch.Tensor:
    """Log-likelihood [B, K] of each name's ids (ending with end-of-sequence) after each clip's prompt."""
    prompt = model.read_prompts(x)
    attn, first = prompt.attention_mask, prompt.first
    b, device = first.shape[0], first.device
    width = max(len(c) for c in class_ids)
    cls = torch.full((len(class_ids), width), model.pad_id, dtype=torch.long, device=device)
    cls_mask = torch.zeros_like(cls, dtype=torch.bool)
    for k, c in enumerate(class_ids):
        cls[k, : len(c)] = torch.tensor(c, device=device)
        cls_mask[k, : len(c)] = True
    scores = first.gather(1, cls[:, 0].expand(b, -1))  # first answer token of every class
    if width == 1:
        return scores
    prompt_len, per_chunk, rest = attn.sum(1), max(1, chunk_rows // b), []
    for start in range(0, len(class_ids), per_chunk):
        chunk = cls[start : start + per_chunk]  # [kc, W]
        kc = chunk.shape[0]
        chunk_cache = copy.deepcopy(prompt.cache)
        chunk_cache.batch_repeat_interleave(kc)
        inp = chunk[:, :-1].repeat(b, 1)  # rows ordered (sample, class)
        full_mask = torch.cat([attn.repeat_interleave(kc, 0), torch.ones_like(inp)], dim=1)
        positions = prompt_len.repeat_interleave(kc)[:, None] + torch.arange(width - 1, device=device)
        logits = model.llm(inputs_embeds=model.embed(inp), attention_mask=full_mask, position_ids=positions,
                           cache=chunk_cache, use_cache=True).logits.float()
        logp = logits.log_softmax(-1).gather(2, chunk[:, 1:].repeat(b, 1)[..., None])[..., 0]
        logp = logp * cls_mask[start : start + kc, 1:].repeat(b, 1)  # padding after short names
        rest.append(logp.sum(-1).reshape(b, kc))
    return scores + torch.cat(rest, dim=1)

"""Free-text answers: what the LLM says after the prompt, and the class name that text is closest to.

Scoring (``LLMActionRecognizer.score``) ranks the class names themselves; generation is the diagnostic
that shows what the LLM would answer unconstrained (``llmar predict --generate``), mapped back to a name
when a caller wants a class.
"""

from __future__ import annotations

import difflib

import torch
from torch import nn


def generate_text(llm: nn.Module, tokenizer, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, *,
                  max_new_tokens: int, pad_id: int, eos_id: int) -> list[str]:
    """Greedy continuation of each (left-padded) prompt, decoded and stripped."""
    out = llm.generate(inputs_embeds=inputs_embeds, attention_mask=attention_mask, max_new_tokens=max_new_tokens,
                       do_sample=False, pad_token_id=pad_id, eos_token_id=eos_id)
    return [t.strip() for t in tokenizer.batch_decode(out, skip_special_tokens=True)]


def nearest_class(text: str, classes: list[str]) -> int:
    """Map free text to the closest class name (exact/substring first, then string similarity)."""
    low = text.lower().strip()
    for i, c in enumerate(classes):
        if low == c.lower():
            return i
    for i, c in enumerate(classes):
        if c.lower() in low:
            return i
    ratios = [difflib.SequenceMatcher(None, low, c.lower()).ratio() for c in classes]
    return int(max(range(len(classes)), key=ratios.__getitem__))

"""The training loss: the language-model loss on the answer tokens only.

The rows are left-padded (``prompts.left_padded``), so every answer ends its row and the LLM computes
logits for the last positions only; the prompt and the action sentence are context, never targets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def answer_loss(logits: torch.Tensor, ids: torch.Tensor, answer_lengths: list[int]) -> torch.Tensor:
    """Mean cross-entropy over the answer tokens. ``logits`` [B, keep, V]: the last ``keep`` positions of
    the rows ``ids`` [B, L], ``keep`` one more than the longest answer (the position before an answer
    predicts its first token); shorter answers leave prompt tokens in the window, which are masked out."""
    keep = logits.shape[1]
    logits = logits[:, :-1].float()  # position j predicts token j+1
    targets = ids[:, -keep + 1:]
    lengths = torch.tensor(answer_lengths, device=ids.device)
    offset = torch.arange(keep - 1, device=ids.device)
    valid = offset[None, :] >= (keep - 1 - lengths)[:, None]
    return F.cross_entropy(logits[valid], targets[valid])

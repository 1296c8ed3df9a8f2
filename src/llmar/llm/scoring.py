"""Ranking class names by their log-likelihood after a prompt that the LLM has read once.

The prompt's key/value cache (:class:`PromptPass`) is shared by every name; the names' trie
(``name_search.NameTrie``) computes each shared prefix once, on that cache (``trie_expanders``). Two
ways through the trie: every name (``score_all``), or a best-first search that stops once each sample's
top k names are proven (``search_top_k``); the search's scores for those k equal full scoring's bit for
bit, because both feed the LLM calls of one shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from transformers import Cache

from llmar.llm.name_search import NameTrie, SearchStats, rows_per_call, score_all, search_top_k
from llmar.llm.trie_expanders import TreeExpander


@dataclass
class PromptPass:
    """A batch's prompts read once: the key/value cache, the attention mask of the left-padded prompts
    and the log-probs [B, V] of the answer's first token."""

    cache: Cache
    attention_mask: torch.Tensor
    first: torch.Tensor


def score_names(llm: nn.Module, embed: Callable[[torch.Tensor], torch.Tensor], prompt: PromptPass,
                class_ids: list[list[int]], *, top_k: int | None = None, block_rows: int | None = None,
                stats: SearchStats | None = None) -> torch.Tensor:
    """Log-likelihood [B, K] of each name's ids (ending with end-of-sequence) after each prompt.

    ``top_k=k``: exact scores for each sample's k best names, -inf for names proven unable to reach
    them; ``None``: every name. ``block_rows``: trie rows per LLM call, spread evenly over the samples
    (default: ``name_search.rows_per_call``, from the batch and the trie). ``embed`` maps name token ids
    to the LLM's input rows."""
    names = NameTrie.build(class_ids)
    batch = len(prompt.first)
    # one call shape for search and full scoring: ``width`` trie rows per sample per call
    width = max(1, (block_rows or rows_per_call(names, batch)) // batch)
    with TreeExpander(llm, embed, prompt.cache, prompt.attention_mask, names, width=width) as expand:
        if top_k is None:
            scores = score_all(names, len(class_ids), prompt.first, expand, stats)
        else:
            scores = search_top_k(names, len(class_ids), prompt.first, expand, top_k, stats, width)
    return scores.float().to(prompt.attention_mask.device)

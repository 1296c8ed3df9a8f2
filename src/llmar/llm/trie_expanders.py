"""The LLM side of ``name_search``: rows of (sample, prefix, child tokens) -> the log-probs of those
tokens as the next token after the sample's prompt + prefix, on the prompt's key/value cache.

A row feeds one token, its prefix's last: the key/value states of the prefix's earlier tokens were
stored when their own rows ran (a node is only expanded after its parent), so a name costs one token per
trie node. CPU bf16 kernels round differently for different shapes (up to 0.3 in a log-likelihood,
measured), so every call of one ``score`` has one shape, and a row's keys sit at the same places
whichever other rows share its call: the search's scores then equal full scoring's bit for bit.

:class:`TreeExpander` keeps one cache for the whole batch: the prompt's states followed by one slot per
trie node. A call feeds each sample a frontier of ``width`` nodes as queries; each writes its states into
its node's slot and attends, through a 4-D mask, to the prompt, its ancestors' slots and its own. Nothing
is copied per row (the earlier design gave every row its own copy of the prompt cache: measured, those
copies, not the matrix products, bounded the throughput). While it runs, the model's attention is
:func:`tree_attention`: SDPA with the grouped key/value heads read in place.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AttentionInterface, Cache
from transformers.cache_utils import CacheLayerMixin

from llmar.llm.name_search import NameTrie, Row

TREE_ATTENTION = "llmar_tree"


def tree_attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                   attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                   **kwargs) -> tuple[torch.Tensor, None]:
    """Attention over the slot buffer: every trie node's keys sit in it, so grouped-query models would
    copy it once per query head (``repeat_kv``); SDPA's ``enable_gqa`` reads the shared heads in place."""
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, scale=scaling,
                                         enable_gqa=query.shape[1] != key.shape[1])
    return out.transpose(1, 2).contiguous(), None


AttentionInterface.register(TREE_ATTENTION, tree_attention)


class _SlotLayer(CacheLayerMixin):
    """One layer's keys and values [B, H, prompt + slots, D] at fixed places. A call writes each query's
    states into the slot ``where[0]`` [B, F] names and returns the whole buffer (the mask picks)."""

    is_sliding = False

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, where: list[torch.Tensor]):
        super().__init__()
        self.keys, self.values, self.where = keys, values, where
        self.device, self.is_initialized = keys.device, True

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        """Built initialised: the buffers come with the prompt's states."""

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        where = self.where[0]
        batch = torch.arange(len(where), device=where.device)[:, None]
        self.keys[batch, :, where] = key_states.transpose(1, 2)
        self.values[batch, :, where] = value_states.transpose(1, 2)
        return self.keys, self.values

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.keys.shape[2], 0

    def get_seq_length(self) -> int:
        return self.keys.shape[2]

    def get_max_length(self) -> int:
        return self.keys.shape[2]


class TreeExpander:
    """Tree attention over the trie: batch = the samples, ``width`` frontier nodes per sample per call.
    A context manager: inside it the model attends with :func:`tree_attention`."""

    def __init__(self, llm: nn.Module, embed: Callable[[torch.Tensor], torch.Tensor], cache,
                 attn: torch.Tensor, trie: NameTrie, *, width: int):
        self.llm, self.embed, self.width = llm, embed, width
        inner = trie.inner_nodes()
        self.slot = {trie.prefix(n): i for i, n in enumerate(inner)}
        self.scratch = len(inner)  # padding queries write here; no real query attends to it
        # a node's query sees its proper ancestors' slots and its own (the root is the prompt itself)
        self.sees = torch.zeros(len(inner) + 1, len(inner) + 1, dtype=torch.bool, device=attn.device)
        for prefix, slot in self.slot.items():
            for j in range(1, len(prefix) + 1):
                self.sees[slot, self.slot[prefix[:j]]] = True
        self.sees[self.scratch, self.scratch] = True
        self.prompt, self.prompt_len = attn.bool(), attn.sum(1)
        self.where: list[torch.Tensor] = [torch.empty(0)]
        layers = []
        for layer in cache.layers:
            b, heads, length, dim = layer.keys.shape
            keys, values = (layer.keys.new_zeros(b, heads, length + len(inner) + 1, dim) for _ in range(2))
            keys[:, :, :length], values[:, :, :length] = layer.keys, layer.values
            layers.append(_SlotLayer(keys, values, self.where))
        self.cache = Cache(layers=layers)
        self.dtype = layers[0].keys.dtype

    def __enter__(self) -> TreeExpander:
        self.attention = self.llm.config._attn_implementation
        self.llm.set_attn_implementation(TREE_ATTENTION)
        return self

    def __exit__(self, *exc) -> None:
        self.llm.set_attn_implementation(self.attention)

    def __call__(self, rows: list[Row]) -> list[torch.Tensor]:
        per_sample: dict[int, list[int]] = defaultdict(list)
        for i, (s, _, _) in enumerate(rows):
            per_sample[s].append(i)
        calls = max((math.ceil(len(idx) / self.width) for idx in per_sample.values()), default=0)
        results: list[torch.Tensor] = [torch.empty(0)] * len(rows)
        b, device = len(self.prompt), self.prompt.device
        for c in range(calls):
            slots = torch.full((b, self.width), self.scratch, dtype=torch.long)
            tokens = torch.zeros((b, self.width), dtype=torch.long)
            positions = self.prompt_len.cpu()[:, None].repeat(1, self.width)
            placed = []
            for s, idx in per_sample.items():
                for f, i in enumerate(idx[c * self.width : (c + 1) * self.width]):
                    path = rows[i][1]
                    slots[s, f], tokens[s, f] = self.slot[path], path[-1]
                    positions[s, f] += len(path) - 1
                    placed.append((i, s, f))
            slots = slots.to(device)
            self.where[0] = self.prompt.shape[1] + slots
            allowed = torch.cat([self.prompt[:, None, :].expand(-1, self.width, -1), self.sees[slots]], dim=2)
            mask = torch.zeros(allowed.shape, dtype=self.dtype, device=device)
            mask.masked_fill_(~allowed, torch.finfo(self.dtype).min)
            out = self.llm(inputs_embeds=self.embed(tokens.to(device)), attention_mask=mask[:, None],
                           position_ids=positions.to(device), cache=self.cache, use_cache=True)
            logp = out.logits.float().log_softmax(-1)
            for i, s, f in placed:
                results[i] = logp[s, f, rows[i][2].to(device)].cpu()
        return results

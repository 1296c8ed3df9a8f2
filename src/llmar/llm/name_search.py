"""Exact top-k class names without scoring every name: best-first search over the trie of names.

A name's log-likelihood is a sum of token log-probabilities, each <= 0, so the score of a prefix bounds
the score of every name that continues it. The names' token sequences form a trie; shared prefixes
("pick up" in "pick up with one hand" and "pick up with two hands") are one node, expanded once per
sample. Each round expands, for every sample, the open prefixes that could still reach its top k, all
samples and prefixes batched into one LLM call; a sample stops when its k best complete names score at
least every open bound. Top-1 .. top-k are those of scoring every name (ties ordered by class index).

The LLM side is a callable ``expand(rows)``. A row is (sample, prefix, tokens): the log-probabilities of
``tokens`` (a node's child tokens) as the next token after the sample's prompt + ``prefix``. A node is
only ever expanded after its parent (the recognizer keeps each expanded prefix's key/value states, so a
row feeds one token). Scoring every name (:func:`score_all`) expands every node with the same row the
search would use, so the two give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

Row = tuple[int, tuple[int, ...], torch.Tensor]
Expand = Callable[[list[Row]], list[torch.Tensor]]


@dataclass
class NameTrie:
    """Token trie of class names. Node 0 is the empty prefix; ``classes[n]`` are the names ending at n."""

    token: list[int] = field(default_factory=lambda: [-1])
    parent: list[int] = field(default_factory=lambda: [-1])
    children: list[dict[int, int]] = field(default_factory=lambda: [{}])
    classes: list[list[int]] = field(default_factory=lambda: [[]])
    names_below: list[int] = field(default_factory=lambda: [0])  # names strictly below the node
    prefixes: list[tuple[int, ...]] = field(default_factory=lambda: [()])  # tokens from the root to the node

    @classmethod
    def build(cls, class_ids: list[list[int]]) -> NameTrie:
        trie = cls()
        for k, ids in enumerate(class_ids):
            if not ids:
                raise ValueError(f"class {k} has no tokens")
            node = 0
            for t in ids:
                trie.names_below[node] += 1
                nxt = trie.children[node].get(t)
                if nxt is None:
                    nxt = len(trie.token)
                    trie.children[node][t] = nxt
                    trie.token.append(t)
                    trie.parent.append(node)
                    trie.children.append({})
                    trie.classes.append([])
                    trie.names_below.append(0)
                    trie.prefixes.append((*trie.prefixes[node], t))
                node = nxt
            trie.classes[node].append(k)
        return trie

    def __len__(self) -> int:
        return len(self.token)

    def prefix(self, node: int) -> tuple[int, ...]:
        return self.prefixes[node]

    def inner_nodes(self) -> list[int]:
        """The nodes a row expands (those with children), root excluded (the prompt expands it)."""
        return [n for n in range(1, len(self)) if self.children[n]]

    def child_tokens(self, node: int) -> torch.Tensor:
        return torch.tensor(list(self.children[node]), dtype=torch.long)


def rows_per_call(trie: NameTrie, batch: int, low: int = 32, high: int = 256) -> int:
    """Rows for one LLM call: about what an average round of full scoring needs (``batch`` x internal
    nodes / name depth), rounded down to a power of two in [low, high]. Spare rows of a call are not
    wasted (the search fills them with the next-best prefixes), but rows beyond what the rounds can fill
    are. Measured on NW-UCLA clips, batches of 16 (docs/benchmarks.md): 32 rows is best with 10 names and
    128 with 27; with 120 names 256 rows beat 128 by 15 % (31 rounds to 18) and with 60 they tie. This rule
    picks 32, 128, 256 and 256."""
    internal = len(trie.inner_nodes())
    depth = max(len(p) for p in trie.prefixes)
    rows = batch * internal / max(depth, 1)
    size = low
    while size * 2 <= min(rows, high):
        size *= 2
    return size


@dataclass
class SearchStats:
    """What scoring cost beyond the prompt: rounds, LLM rows, and the name tokens they fed (one per row: a
    row feeds its prefix's last token on the stored states of the earlier ones)."""

    rounds: int = 0
    rows: int = 0
    tokens: int = 0

    def count(self, rows: list[Row]) -> None:
        self.rounds += 1
        self.rows += len(rows)
        self.tokens += len(rows)


def _settle_children(trie: NameTrie, node: int, base: float, logp: torch.Tensor):
    """(child, value) for each child of ``node``, given the log-probs of its child tokens in order."""
    return [(child, base + float(lp)) for child, lp in zip(trie.children[node].values(), logp.double().tolist())]


def score_all(trie: NameTrie, num_classes: int, first: torch.Tensor, expand: Expand,
              stats: SearchStats | None = None) -> torch.Tensor:
    """Log-likelihood [B, K] of every name; ``first`` [B, V] is the first answer token's log-probs."""
    b = first.shape[0]
    value = torch.full((b, len(trie)), float("-inf"), dtype=torch.float64)
    value[:, 0] = 0.0
    for s in range(b):
        for child, v in _settle_children(trie, 0, 0.0, first[s, trie.child_tokens(0)]):
            value[s, child] = v
    # one row per internal node and sample, one depth at a time: a node is expanded after its parent
    levels: dict[int, list[int]] = {}
    for n in trie.inner_nodes():
        levels.setdefault(len(trie.prefixes[n]), []).append(n)
    for depth in sorted(levels):
        plan = [(s, n) for n in levels[depth] for s in range(b)]
        rows = [(s, trie.prefixes[n], trie.child_tokens(n)) for s, n in plan]
        if stats is not None:
            stats.count(rows)
        for (s, node), logp in zip(plan, expand(rows)):
            for child, v in _settle_children(trie, node, float(value[s, node]), logp):
                value[s, child] = v
    scores = torch.full((b, num_classes), float("-inf"), dtype=torch.float64)
    for n, ks in enumerate(trie.classes):
        for k in ks:
            scores[:, k] = value[:, n]
    return scores


def search_top_k(trie: NameTrie, num_classes: int, first: torch.Tensor, expand: Expand, k: int,
                 stats: SearchStats | None = None, width: int = 0) -> torch.Tensor:
    """Scores [B, K] exact for (at least) each sample's k best names, -inf for names never completed.

    ``first`` [B, V]: log-probs of the first answer token after each prompt (the root's expansion).
    ``width``: rows per sample per LLM call. A round's rows rarely fill its calls, and an unfilled call
    costs as much as a full one, so each sample's spare rows expand its best other open prefixes: rounds
    that would have asked for them later are saved. The top k do not change.
    """
    b = first.shape[0]
    k = min(k, num_classes)
    scores = torch.full((b, num_classes), float("-inf"), dtype=torch.float64)
    open_nodes: list[dict[int, float]] = [{} for _ in range(b)]  # node -> bound, per sample

    def settle(s: int, node: int, value: float) -> None:
        for c in trie.classes[node]:
            scores[s, c] = value
        if trie.children[node]:
            open_nodes[s][node] = value

    for s in range(b):
        for child, v in _settle_children(trie, 0, 0.0, first[s, trie.child_tokens(0)]):
            settle(s, child, v)
    while True:
        per_sample = [_to_expand(trie, scores[s], open_nodes[s], k) for s in range(b)]
        if not any(per_sample):
            return scores
        if width:
            _fill_frontiers(per_sample, open_nodes, width)
        chosen = [(s, n) for s, nodes in enumerate(per_sample) for n in nodes]
        rows = [(s, trie.prefix(n), trie.child_tokens(n)) for s, n in chosen]
        if stats is not None:
            stats.count(rows)
        for (s, n), logp in zip(chosen, expand(rows)):
            base = open_nodes[s].pop(n)
            for child, v in _settle_children(trie, n, base, logp):
                settle(s, child, v)


def _fill_frontiers(per_sample: list[list[int]], open_nodes: list[dict[int, float]], width: int) -> None:
    """Fill every sample's rows up to the calls the fullest sample needs (``width`` rows a sample a call)
    with its best other open nodes."""
    calls = max(-(-len(nodes) // width) for nodes in per_sample)
    for nodes, bounds in zip(per_sample, open_nodes):
        taken = set(nodes)
        spare = [n for n in sorted(bounds, key=lambda n: (-bounds[n], n)) if n not in taken]
        nodes += spare[: calls * width - len(nodes)]


def _to_expand(trie: NameTrie, scores: torch.Tensor, open_nodes: dict[int, float], k: int) -> list[int]:
    """Open nodes that may still hold one of the k best names: walking the frontier from the best value
    down (a complete name counts 1, an open node the names below it), every open node met before k names
    are counted, and those tied with the value at which the count reaches k."""
    if not open_nodes:
        return []
    done = scores[torch.isfinite(scores)].tolist()
    items = sorted([(v, 1, None) for v in done] + [(v, trie.names_below[n], n) for n, v in open_nodes.items()],
                   key=lambda item: -item[0])
    chosen, count, cutoff = [], 0, None
    for value, names, node in items:
        if cutoff is not None and value < cutoff:
            break
        if node is not None:
            chosen.append(node)
        count += names
        if count >= k and cutoff is None:
            cutoff = value
    return chosen

"""Exact top-k class names without scoring every name: best-first search over the trie of names.

A name's log-likelihood is a sum of token log-probabilities, each <= 0, so the score of a prefix bounds
the score of every name that continues it. The names' token sequences form a trie; shared prefixes
("pick up" in "pick up" and "pick up with one hand") are expanded once per sample. Each round expands,
for every sample, the open prefixes that could still reach its top k, all samples and prefixes batched
into one LLM call; a sample stops when its k best complete names score at least every open bound.
Top-1 .. top-k are the same as scoring every name (ties ordered by class index), and scoring every
name is the same expansion run over the whole trie (:func:`score_all`).

The LLM side is a callable ``expand(rows) -> log-probs [R, V]``: ``rows`` is a list of
(sample, prefix tokens) and the result is the next-token distribution after prompt + prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

Expand = Callable[[list[tuple[int, tuple[int, ...]]]], torch.Tensor]


@dataclass
class NameTrie:
    """Token trie of class names. Node 0 is the empty prefix; ``classes[n]`` are the names ending at n."""

    token: list[int] = field(default_factory=lambda: [-1])
    parent: list[int] = field(default_factory=lambda: [-1])
    children: list[dict[int, int]] = field(default_factory=lambda: [{}])
    classes: list[list[int]] = field(default_factory=lambda: [[]])
    names_below: list[int] = field(default_factory=lambda: [0])  # names strictly below the node

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
                node = nxt
            trie.classes[node].append(k)
        return trie

    def __len__(self) -> int:
        return len(self.token)

    def prefix(self, node: int) -> tuple[int, ...]:
        out = []
        while node > 0:
            out.append(self.token[node])
            node = self.parent[node]
        return tuple(reversed(out))

    def depth_order(self) -> list[list[int]]:
        """Internal nodes (those with children) grouped by depth, root first."""
        levels, frontier = [], [0]
        while frontier:
            internal = [n for n in frontier if self.children[n]]
            if internal:
                levels.append(internal)
            frontier = [c for n in frontier for c in self.children[n].values()]
        return levels


@dataclass
class SearchStats:
    """What a search cost: expanded prefixes (LLM rows beyond the prompt), their tokens, and the rows
    scoring every name through the trie would take."""

    rounds: int = 0
    rows: int = 0
    tokens: int = 0
    full_rows: int = 0

    def count(self, trie: NameTrie, rows: list[tuple[int, int]]) -> None:
        self.rounds += 1
        self.rows += len(rows)
        self.tokens += sum(len(trie.prefix(n)) for _, n in rows)

    @property
    def fraction(self) -> float:
        return self.rows / max(self.full_rows, 1)


def _children_scores(trie: NameTrie, node: int, base: float, logp: torch.Tensor):
    kids = trie.children[node]
    if not kids:
        return []
    tokens = torch.tensor(list(kids.keys()))
    values = (base + logp[tokens].double()).tolist()
    return list(zip(kids.values(), values))


def score_all(trie: NameTrie, num_classes: int, first: torch.Tensor, expand: Expand,
              stats: SearchStats | None = None) -> torch.Tensor:
    """Log-likelihood [B, K] of every name: every internal node expanded, one depth level per call."""
    b = first.shape[0]
    value = torch.full((b, len(trie)), float("-inf"), dtype=torch.float64)
    value[:, 0] = 0.0
    for level in trie.depth_order():
        if level == [0]:
            logps = {(s, 0): first[s] for s in range(b)}
        else:
            rows = [(s, n) for s in range(b) for n in level]
            out = expand([(s, trie.prefix(n)) for s, n in rows])
            logps = {row: out[i] for i, row in enumerate(rows)}
            if stats is not None:
                stats.count(trie, rows)
        for (s, n), logp in logps.items():
            for child, v in _children_scores(trie, n, float(value[s, n]), logp):
                value[s, child] = v
    scores = torch.full((b, num_classes), float("-inf"), dtype=torch.float64)
    for n, ks in enumerate(trie.classes):
        for k in ks:
            scores[:, k] = value[:, n]
    return scores


def full_rows(trie: NameTrie, batch: int) -> int:
    """LLM rows that scoring every name costs (every internal node but the root, per sample)."""
    return batch * sum(len(level) for level in trie.depth_order() if level != [0])


def search_top_k(trie: NameTrie, num_classes: int, first: torch.Tensor, expand: Expand, k: int,
                 stats: SearchStats | None = None) -> torch.Tensor:
    """Scores [B, K] exact for (at least) each sample's k best names, -inf for names never completed.

    ``first`` [B, V]: log-probs of the first answer token after each prompt (the root's expansion).
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
        for child, v in _children_scores(trie, 0, 0.0, first[s]):
            settle(s, child, v)
    while True:
        rows = []
        for s in range(b):
            rows += [(s, n) for n in _to_expand(trie, scores[s], open_nodes[s], k)]
        if not rows:
            return scores
        out = expand([(s, trie.prefix(n)) for s, n in rows])
        if stats is not None:
            stats.count(trie, rows)
        for i, (s, n) in enumerate(rows):
            base = open_nodes[s].pop(n)
            for child, v in _children_scores(trie, n, base, out[i]):
                settle(s, child, v)


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

"""Exact top-k by best-first search over the class-name trie: same ranking as scoring every name."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llmar.llm.name_search import NameTrie, SearchStats, rows_per_call, score_all, search_top_k
from tests.reference_scoring import per_name_scores
from tests.test_recognizer import brute_force_scores, clips, make_model

# shared prefixes, a name that is a prefix of others, a duplicate (an exact tie) and long names
NAMES = ["pick up", "pick up with one hand", "pick up with both hands", "put down", "put on a hat",
         "put on a shoe", "walk", "walk around", "walk towards", "drink water", "drink water", "sit down",
         "stand up", "throw", "jump up", "wave hand", "clap hands", "kick something", "point to something"]


def ranking(scores: torch.Tensor, k: int) -> list[list[int]]:
    """Top-k class indices per row, ties by class index (the order every llmar report uses)."""
    s = scores.double().numpy()
    return [sorted(range(s.shape[1]), key=lambda c: (-s[b, c], c))[:k] for b in range(s.shape[0])]


def test_trie_shares_prefixes_and_keeps_duplicates():
    trie = NameTrie.build([[1, 2, 9], [1, 2, 3, 9], [1, 4, 9], [1, 4, 9]])
    assert trie.prefix(trie.children[trie.children[0][1]][2]) == (1, 2)
    assert len(trie.children[0]) == 1  # one first token shared by all four
    leaf = trie.children[trie.children[trie.children[0][1]][4]][9]
    assert trie.classes[leaf] == [2, 3]  # identical token sequences share one leaf
    assert trie.names_below[0] == 4
    assert [trie.prefix(n) for n in range(len(trie)) if trie.children[n]] == [(), (1,), (1, 2), (1, 2, 3), (1, 4)]
    with pytest.raises(ValueError, match="no tokens"):
        NameTrie.build([[1], []])


class CoarseLM:
    """A next-token table with few distinct log-probs, so different names often tie exactly."""

    def __init__(self, vocab: int, rng: np.random.Generator):
        self.vocab, self.rng, self.table = vocab, rng, {}

    def logp(self, sample: int, prefix: tuple[int, ...]) -> torch.Tensor:
        if (sample, prefix) not in self.table:
            p = self.rng.choice([0.05, 0.1, 0.2, 0.4], size=self.vocab)
            self.table[sample, prefix] = torch.tensor(np.log(p / p.sum()), dtype=torch.float32)
        return self.table[sample, prefix]

    def expand(self, rows):
        return [self.logp(s, prefix)[tokens] for s, prefix, tokens in rows]


def test_search_on_synthetic_distributions_matches_exhaustive_ranking():
    rng = np.random.default_rng(0)
    vocab = 6
    class_ids = [list(rng.integers(0, vocab - 1, size=rng.integers(1, 5))) + [vocab - 1] for _ in range(40)]
    trie = NameTrie.build(class_ids)
    for trial in range(20):
        lm = CoarseLM(vocab, rng)
        first = torch.stack([lm.logp(s, ()) for s in range(3)])
        full = score_all(trie, len(class_ids), first, lm.expand)
        for k in (1, 5, 40):
            for width in (0, 1, 5):  # 0: no spare rows filled
                fast = search_top_k(trie, len(class_ids), first, lm.expand, k, width=width)
                assert ranking(fast, k) == ranking(full, k), (trial, k, width)
                for s, top in enumerate(ranking(full, k)):
                    assert torch.equal(fast[s, top], full[s, top])  # exact scores for the top k


def test_spare_rows_fill_calls_and_save_rounds():
    rng = np.random.default_rng(1)
    vocab = 6
    class_ids = [list(rng.integers(0, vocab - 1, size=rng.integers(2, 6))) + [vocab - 1] for _ in range(60)]
    trie = NameTrie.build(class_ids)
    lm = CoarseLM(vocab, rng)
    first = torch.stack([lm.logp(s, ()) for s in range(4)])
    plain, filled = SearchStats(), SearchStats()
    search_top_k(trie, len(class_ids), first, lm.expand, 5, plain)
    search_top_k(trie, len(class_ids), first, lm.expand, 5, filled, width=8)
    assert filled.rows > plain.rows  # the spare rows were used
    assert filled.rounds < plain.rounds


@pytest.fixture(scope="module")
def model(tiny_llm_dir):
    return make_model(tiny_llm_dir)


def test_full_scoring_equals_one_forward_per_name(model):
    x = clips()
    slow = brute_force_scores(model, x, NAMES)
    torch.testing.assert_close(model.score(x, model.class_token_ids(NAMES), block_rows=5), slow,
                               atol=2e-4, rtol=1e-4)  # several blocks per prefix length
    torch.testing.assert_close(per_name_scores(model, x, model.class_token_ids(NAMES)), slow, atol=2e-4, rtol=1e-4)


def test_top_k_on_a_tiny_llama_matches_full_scoring_bit_for_bit(model):
    x = clips(b=4, m=1, seed=5)
    ids = model.class_token_ids(NAMES)
    full_stats, fast_stats = SearchStats(), SearchStats()
    full = model.score(x, ids, stats=full_stats)
    trie = NameTrie.build(ids)
    assert full_stats.rows == len(x) * sum(1 for n in range(1, len(trie)) if trie.children[n])  # every inner node
    for k in (1, 5):
        fast = model.score(x, ids, top_k=k, stats=fast_stats)
        assert ranking(fast, k) == ranking(full, k)
        for s, top in enumerate(ranking(full, k)):
            assert torch.equal(fast[s, top], full[s, top])  # the same numbers, bit for bit
    duplicate = NAMES.index("drink water")
    assert torch.equal(full[:, duplicate], full[:, duplicate + 1])  # the tie is exact


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_tree_attention_in_bf16_gives_search_and_full_scoring_the_same_numbers(tiny_llm_dir, attention):
    """bf16 kernels round by shape; the tree expander keeps one shape and fixed key places per node,
    whichever attention the model was loaded with."""
    model = make_model(tiny_llm_dir, dtype="bfloat16", attention=attention)
    x = clips(b=5, m=1, seed=7)
    ids = model.class_token_ids(NAMES)
    for block_rows in (5, 0):  # one row a sample a call; the default width
        full = model.score(x, ids, block_rows=block_rows)
        fast = model.score(x, ids, top_k=5, block_rows=block_rows)
        assert ranking(fast, 5) == ranking(full, 5)
        for s, top in enumerate(ranking(full, 5)):
            assert torch.equal(fast[s, top], full[s, top])
    torch.testing.assert_close(full, brute_force_scores(model, x, NAMES), atol=0.15, rtol=0.02)  # bf16 rounding
    assert model.llm.config._attn_implementation == attention  # the tree's attention is switched back


def test_rows_per_call_follows_the_trie_and_batch():
    rng = np.random.default_rng(2)

    # NW-UCLA-like: short names and one long one (few rows a round); NTU-120-like: many long names
    small = NameTrie.build([[k, 99] for k in range(9)] + [[9, 10, 11, 12, 13, 99]])
    large = NameTrie.build([list(rng.integers(0, 50, size=12)) for _ in range(120)])
    assert rows_per_call(small, 16) == 32  # 16 x 14 internal nodes / depth 6: small calls, no padding to pay for
    assert rows_per_call(large, 16) == 256  # many rows a round: big calls, fewer rounds
    assert rows_per_call(large, 1) == 64 and rows_per_call(small, 1) == 32
    sizes = [rows_per_call(large, b) for b in range(1, 40)]
    assert sizes == sorted(sizes) and set(sizes) <= {32, 64, 128, 256}

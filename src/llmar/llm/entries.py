"""How a clip's codes enter the LLM (``llm.entry``): one small strategy per mode, chosen from ``ENTRIES``.

Every mode puts one id per code into the sequence (so prompts, padding and positions are shared) and
differs in which ids those are and which embedding rows they read:
- ``tokens``: K new action tokens ``<a_k>`` with ids ``base_id + k`` past the vocabulary; their rows are
  the codebook projected to the LLM width (``ActionVQVAE.code_embeddings``), trained with the adapter;
- ``continuous``: the same placeholder ids, whose rows are the encoder's unquantised vectors projected
  to the LLM width; no action sentence to read;
- ``snap``: each code's nearest real vocabulary token (``nearest_vocabulary_tokens``, fixed after stage
  1), so the sentence is literally text and only the adapter trains.
The strategies hold no tensors: the recognizer owns the snap table (a buffer saved with the run).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from llmar.projection.vqvae import ActionVQVAE


def action_token(k: int) -> str:
    """The readable name of action token (code) ``k``."""
    return f"<a_{k}>"


class ActionEntry:
    """One entry mode. The methods' defaults are the ``tokens`` mode's: ids past the vocabulary, read
    through the projected codebook; the other modes override what differs."""

    words = ""  # what the LLM reads, in words (``LLM_INPUT_WORDS``)
    llm_input = "tokens"  # what the LLM reads: an action sentence (``tokens``) or ``vectors``
    needs_vectors = False  # whether the encoder's unquantised vectors must reach ``embed``

    def sentence_ids(self, codes: torch.Tensor, base_id: int, snap_ids: torch.Tensor) -> torch.Tensor:
        """The ids the sequence holds for codes [..., L]."""
        return codes + base_id

    def action_rows(self, out: torch.Tensor, ids: torch.Tensor, base_id: int, vqvae: ActionVQVAE,
                    vectors: torch.Tensor | None) -> torch.Tensor:
        """``out`` (vocabulary rows [B, L, H]) with the rows at action ids (``>= base_id``) replaced."""
        is_action = ids >= base_id
        action_rows = vqvae.code_embeddings().to(out.dtype)
        # F.embedding, not action_rows[...]: indexing's backward adds with atomics, so runs would differ
        return torch.where(is_action[..., None], F.embedding((ids - base_id).clamp(min=0), action_rows), out)

    def readable(self, codes: torch.Tensor, tokenizer, snap_ids: torch.Tensor) -> str:
        """One body's sentence (codes [L]) as the text the LLM reads."""
        return "".join(action_token(int(k)) for k in codes)


class TokenEntry(ActionEntry):
    """Codebook ids as new tokens past the vocabulary, embedded through the projected codebook."""

    words = "an action sentence of codebook tokens <a_k>, embedded through the projected codebook (llm.entry: tokens)"


class SnapEntry(ActionEntry):
    """Each code replaced by its nearest vocabulary token: the sentence is text the LLM already knows.
    Its ids are all below ``base_id``, so ``action_rows`` (the default) is only reached for ids a caller
    built past the vocabulary itself."""

    words = "an action sentence of vocabulary tokens, each code snapped to its nearest word piece (llm.entry: snap)"

    def sentence_ids(self, codes: torch.Tensor, base_id: int, snap_ids: torch.Tensor) -> torch.Tensor:
        return snap_ids[codes]

    def readable(self, codes: torch.Tensor, tokenizer, snap_ids: torch.Tensor) -> str:
        return tokenizer.decode(snap_ids[codes].tolist())


class ContinuousEntry(ActionEntry):
    """The encoder's vectors, before quantisation, through the linear map to the LLM width; the ids past
    the vocabulary only mark where they go."""

    words = ("the encoder's vectors, unquantised and projected to the LLM's width (llm.entry: continuous); "
             "no action sentence")
    llm_input = "vectors"
    needs_vectors = True

    def action_rows(self, out: torch.Tensor, ids: torch.Tensor, base_id: int, vqvae: ActionVQVAE,
                    vectors: torch.Tensor | None) -> torch.Tensor:
        if vectors is None:
            raise ValueError("continuous entry needs the encoder's vectors")
        # the vectors come in sentence order, as the action ids do row by row
        return out.masked_scatter((ids >= base_id)[..., None], vqvae.project(vectors).to(out.dtype))


# llm.entry -> its strategy; the config's Literal type already limits the keys to these
ENTRIES: dict[str, ActionEntry] = {"tokens": TokenEntry(), "snap": SnapEntry(), "continuous": ContinuousEntry()}

# what the LLM reads of a clip in each entry mode, in words (command output, model cards)
LLM_INPUT_WORDS = {name: entry.words for name, entry in ENTRIES.items()}


@torch.no_grad()
def nearest_vocabulary_tokens(code_rows: torch.Tensor, vocabulary_rows: torch.Tensor,
                              excluded: list[int]) -> torch.Tensor:
    """For each code, the vocabulary token whose embedding is nearest (cosine) to its projection, never
    one of ``excluded`` (special tokens: the sentence must not end the text or start a new one)."""
    sim = F.normalize(code_rows.float(), dim=-1) @ F.normalize(vocabulary_rows.float(), dim=-1).T
    excluded = [i for i in excluded if i < sim.shape[1]]
    sim[:, excluded] = -2.0
    return sim.argmax(-1)

"""The text around the action sentence: the prompt, the answer each class name becomes, and the rows
the LLM reads.

``llm.prompt`` holds ``{sentence}`` (where the action sentence goes) and may hold ``{choices}``: the
candidate names, each rendered with ``llm.choice_template``. A class's answer is ``llm.answer_prefix`` and
``llm.answer_template`` rendered for its name, then end-of-sequence; the loss trains on exactly these ids
and scoring ranks the names by them.
"""

from __future__ import annotations

import torch

from llmar.config import LLMConfig
from llmar.data.descriptions import render

BODY_SEPARATOR = " |"  # between the bodies of a clip with several people, in ids and in readable text


class PromptBuilder:
    """Token ids of the prompt and of the answers, for one tokenizer and one ``llm`` config."""

    def __init__(self, cfg: LLMConfig, tokenizer, descriptions: dict[str, str] | None = None,
                 descriptions_source: str | None = None):
        """``descriptions``: the class descriptions the answer and choice templates may use."""
        if "{sentence}" not in cfg.prompt:
            raise ValueError("llm.prompt must contain the placeholder {sentence}")
        self.cfg, self.tokenizer = cfg, tokenizer
        self.descriptions, self.descriptions_source = dict(descriptions or {}), descriptions_source
        self._cache: dict[tuple[str, ...], tuple[list[int], list[int]]] = {}
        self.separator_ids = self.encode(BODY_SEPARATOR)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False).input_ids if text else []

    def start_ids(self) -> list[int]:
        """What the tokenizer puts before any text: BOS for LLaMA and Gemma, which read text after it and
        degrade without it; nothing for SmolLM2."""
        plain, full = self.encode("a"), self.tokenizer("a").input_ids
        return full[: full.index(plain[0])] if plain and plain[0] in full else []

    def render(self, template: str, name: str) -> str:
        return render(template, name, self.descriptions, self.descriptions_source)

    def prompt_ids(self, choices: list[str]) -> tuple[list[int], list[int]]:
        """Token ids of the prompt before and after the action sentence, with ``{choices}`` (if the prompt
        has it) listing ``choices``. The start ids (BOS) open the prompt only: the answer follows the
        sentence in the same text."""
        key = tuple(choices)
        if key not in self._cache:
            prompt = self.cfg.prompt
            if "{choices}" in prompt:
                items = [self.render(self.cfg.choice_template, name) for name in key]
                # a description holds commas of its own, so described choices are listed with semicolons
                joiner = "; " if "{description}" in self.cfg.choice_template else ", "
                prompt = prompt.replace("{choices}", joiner.join(items))
            before, after = prompt.split("{sentence}", 1)
            self._cache[key] = (self.start_ids() + self.encode(before), self.encode(after))
        return self._cache[key]

    def class_token_ids(self, names: list[str]) -> list[list[int]]:
        """Answer token ids for each class name (``llm.answer_template``), ending with end-of-sequence."""
        out = []
        for name in names:
            ids = self.encode(self.cfg.answer_prefix + self.render(self.cfg.answer_template, name))
            if not ids:
                raise ValueError(f"class name {name!r} tokenises to nothing")
            out.append(ids + [self.tokenizer.eos_token_id])
        return out

    def sentence_ids(self, bodies: list[list[int]]) -> list[int]:
        """The action sentence: each present body's ids in order, joined by the separator's ids."""
        sentence: list[int] = []
        for body in bodies:
            if sentence:
                sentence += self.separator_ids
            sentence += body
        return sentence


def left_padded(rows: list[list[int]], pad_id: int, device: torch.device
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ids [B, L], attention mask and position ids, each row padded on the left.

    Left padding puts every answer at the end of its row, so the answer logits are the last positions
    for all rows and nothing else needs the vocabulary-wide output layer."""
    length = max(len(r) for r in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for b, r in enumerate(rows):
        ids[b, length - len(r):] = torch.tensor(r)
        mask[b, length - len(r):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


def last_positions(ids: torch.Tensor, k: int) -> torch.Tensor:
    """``logits_to_keep`` for the last k positions (the answer's, in left-padded rows), as indices rather
    than an int: an int slices the hidden states into a strided view, for which torch's matmul takes a
    batched path that copies the whole output-layer weight once per row (measured: 3x the cost of the
    rest of scoring)."""
    length = ids.shape[1]
    return torch.arange(length - k, length, device=ids.device)

"""One small interface for masked nucleotide language models, and ``load_lm`` to get one by name.

Every adapter hides its tokenisation: callers pass nucleotide strings (DNA or RNA letters, any
case) and get per-nucleotide results, position ``i`` of the result being nucleotide ``i`` of the
input, whatever special tokens (``[CLS]``) the model adds. Logits are restricted to the four
nucleotide tokens, always in the column order A, C, G, T/U (:data:`NUCLEOTIDE_COLUMNS`); extra
vocabulary rows (``N``, IUPAC codes, specials) never enter a score.

Model names: ``splicebert`` (SpliceBERT.1024nt), ``splicebert-510`` (SpliceBERT.510nt),
``splicebert-human-510`` (SpliceBERT-human.510nt), ``rnabert``, ``rnamsm`` (single sequence as
an alignment of depth 1); each is an entry of :data:`rnatools.models.registry.MODELS` with a
``loader``.
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from rnatools.errors import InputError, MissingWeightsError, UsageError
from rnatools.models.registry import MODELS, ModelInfo
from rnatools.runtime import Precision, autocast

NUCLEOTIDE_COLUMNS = "ACGT"
"""Column order of every ``nucleotide_logits`` array (T stands for U in RNA models)."""


class LMOutput(NamedTuple):
    """Per-nucleotide outputs of one batch (tensors on the model's device, float32).

    Attributes:
        nucleotide_logits: ``(batch, length, 4)`` logits of A, C, G, T/U, or ``None``.
        hidden: ``(batch, length, hidden)`` last-layer embeddings, or ``None``.
        lengths: ``(batch,)`` int64 sequence lengths; positions past a length hold padding.
    """

    nucleotide_logits: Tensor | None
    hidden: Tensor | None
    lengths: Tensor


class LanguageModel(ABC):
    """A masked nucleotide language model behind one interface.

    Attributes:
        name: model name as given to :func:`load_lm`.
        max_length: longest window, in nt, that the model takes in one piece.
        hidden_size: width of the embeddings.
        device: where the model runs.
        precision: ``fp32`` (default), ``bf16`` or ``fp16`` (autocast, opt-in).
    """

    name: str
    max_length: int
    hidden_size: int
    device: torch.device
    precision: Precision = "fp32"

    @abstractmethod
    def forward_batch(
        self,
        sequences: Sequence[str],
        mask_positions: Sequence[Sequence[int]] | None = None,
        *,
        logits: bool = True,
        hidden: bool = False,
    ) -> LMOutput:
        """Run one batch of sequences, each at most :attr:`max_length` nt.

        Args:
            sequences: nucleotide strings (DNA or RNA letters, any case).
            mask_positions: per sequence, 0-based nucleotide positions replaced by the mask token.
            logits: compute the nucleotide logits.
            hidden: return the last hidden state.

        Raises:
            InputError: a sequence is empty, too long, or holds a letter the model cannot take.
        """

    def check_length(self, sequence: str, what: str = "sequence") -> None:
        """Raise :class:`InputError` when ``sequence`` is longer than :attr:`max_length`."""
        if not sequence:
            raise InputError(f"{what} is empty")
        if len(sequence) > self.max_length:
            raise InputError(
                f"{what} is {len(sequence)} nt, longer than the {self.max_length} nt that "
                f"{self.name} takes; shorten it or ask for tiling (--tile)"
            )

    def autocast(self):
        """Autocast context for :attr:`precision` on :attr:`device`."""
        return autocast(self.device, self.precision)

    def embed(
        self,
        sequences: Sequence[str],
        *,
        batch_size: int = 8,
        tile: bool = False,
        pool: str | None = None,
    ) -> list[np.ndarray]:
        """Per-nucleotide embeddings of each sequence.

        Args:
            sequences: nucleotide strings.
            batch_size: windows per model call.
            tile: cut sequences longer than :attr:`max_length` into overlapping tiles (see
                :func:`tile_spans`); without it they raise.
            pool: ``None`` or ``"mean"`` (mean over the nucleotides).

        Returns:
            One float32 array per sequence: ``(length, hidden)``, or ``(hidden,)`` pooled.
        """
        per_nucleotide = self._per_nucleotide(sequences, batch_size, tile, want="hidden")
        if pool == "mean":
            return [array.mean(axis=0) for array in per_nucleotide]
        if pool is not None:
            raise UsageError(f"pool must be None or 'mean', got {pool!r}")
        return per_nucleotide

    def nucleotide_logits(
        self,
        sequences: Sequence[str],
        mask_positions: Sequence[Sequence[int]] | None = None,
        *,
        batch_size: int = 8,
        tile: bool = False,
    ) -> list[np.ndarray]:
        """Unmasked (or explicitly masked) logits of A, C, G, T/U: one ``(length, 4)`` per sequence.

        Tiling is only offered without ``mask_positions``.
        """
        if mask_positions is not None:
            if tile:
                raise UsageError("tiling is not offered together with mask positions")
            results: list[np.ndarray] = []
            for start in range(0, len(sequences), batch_size):
                chunk = sequences[start : start + batch_size]
                out = self.forward_batch(chunk, mask_positions[start : start + batch_size])
                logits = out.nucleotide_logits.cpu().numpy()
                results.extend(logits[i, : len(s)] for i, s in enumerate(chunk))
            return results
        return self._per_nucleotide(sequences, batch_size, tile, want="logits")

    def _per_nucleotide(
        self, sequences: Sequence[str], batch_size: int, tile: bool, want: str
    ) -> list[np.ndarray]:
        pieces: list[tuple[int, int, int, int, str]] = []  # (record, start, keep0, keep1, text)
        for record, sequence in enumerate(sequences):
            if len(sequence) > self.max_length and tile:
                for start, keep0, keep1 in tile_spans(len(sequence), self.max_length):
                    text = sequence[start : start + self.max_length]
                    pieces.append((record, start, keep0, keep1, text))
            else:
                self.check_length(sequence, f"sequence {record + 1}")
                pieces.append((record, 0, 0, len(sequence), sequence))
        outputs: list[np.ndarray | None] = [None] * len(sequences)
        for first in range(0, len(pieces), batch_size):
            batch = pieces[first : first + batch_size]
            out = self.forward_batch(
                [p[4] for p in batch], logits=want == "logits", hidden=want == "hidden"
            )
            values = (out.nucleotide_logits if want == "logits" else out.hidden).cpu().numpy()
            for row, (record, start, keep0, keep1, _) in enumerate(batch):
                if outputs[record] is None:
                    width = values.shape[-1]
                    outputs[record] = np.empty((len(sequences[record]), width), np.float32)
                outputs[record][start + keep0 : start + keep1] = values[row, keep0:keep1]
        return outputs  # type: ignore[return-value]


def tile_spans(length: int, window: int) -> Iterator[tuple[int, int, int]]:
    """Overlapping tiles that cover ``length`` nt with windows of ``window`` nt.

    Each nucleotide is taken from the tile where it lies farthest from a tile edge: tiles step by
    half a window, and each keeps its central half (the first and last keep their outer edge).

    Yields:
        ``(start, keep_start, keep_end)``: the tile is ``[start, start + window)``; positions
        ``[start + keep_start, start + keep_end)`` of the sequence are taken from it.
    """
    if length <= window:
        yield 0, 0, length
        return
    step = max(1, window // 2)
    starts = list(range(0, length - window, step)) + [length - window]
    bounds = [0]
    for previous, current in zip(starts[:-1], starts[1:], strict=True):
        # boundary halfway between the centres of consecutive tiles
        bounds.append((previous + current + window) // 2)
    bounds.append(length)
    for index, start in enumerate(starts):
        yield start, bounds[index] - start, bounds[index + 1] - start


def find_weights(name: str, weights: str | Path | None) -> Path:
    """Resolve the weights path: ``weights`` if given, else the model's environment variable.

    Raises:
        UsageError: unknown model name.
        MissingWeightsError: neither is set, or the path does not exist; says where the public
            weights live.
    """
    info = model_info(name)
    source = "--weights"
    if weights is None:
        value = os.environ.get(info.env_var)
        if not value:
            raise MissingWeightsError(
                f"no weights for {name}: pass --weights PATH or set {info.env_var}; "
                f"{info.how_to_get} (rnatools does not download them)"
            )
        weights, source = value, info.env_var
    path = Path(weights).expanduser()
    if not path.exists():
        raise MissingWeightsError(f"{source} {path} does not exist; {info.how_to_get}")
    return path


def language_models() -> list[str]:
    """Names of the masked language models of :data:`rnatools.models.registry.MODELS`."""
    return [name for name, info in MODELS.items() if info.loader]


def model_info(name: str) -> ModelInfo:
    """The registry entry of language model ``name``.

    Raises:
        UsageError: ``name`` is not a known masked language model; the message lists them.
    """
    info = MODELS.get(name)
    if info is None or not info.loader:
        raise UsageError(
            f"unknown language model {name!r}; choose one of {', '.join(language_models())}"
        )
    return info


def load_lm(
    name: str,
    weights: str | Path | None = None,
    *,
    device: torch.device | str = "cpu",
    precision: Precision = "fp32",
    **options,
) -> LanguageModel:
    """Load a masked language model by name.

    Args:
        name: a language model of :data:`rnatools.models.registry.MODELS` (``splicebert``,
            ``splicebert-510``,
            ``splicebert-human-510``, ``rnabert``, ...).
        weights: folder or file; ``None`` reads the model's environment variable.
        device: where to run.
        precision: ``fp32``, ``bf16`` or ``fp16`` autocast (opt-in).
        options: model-specific options (e.g. ``pad_to_max=True`` for RNABERT).

    Raises:
        UsageError: unknown name or option.
        MissingWeightsError: no weights found.
        InputError: the weights cannot be read or do not fit the model.
    """
    module, function = model_info(name).loader.split(":")
    path = find_weights(name, weights)
    loader = getattr(importlib.import_module(module), function)
    model = loader(name, path, torch.device(device), **options)
    model.precision = precision
    return model


@dataclass(frozen=True)
class Vocabulary:
    """Token ids a BERT-style adapter needs.

    Attributes:
        letter_ids: ``(256,)`` int64 lookup: byte value of a letter → token id (unknown letters get
            ``unknown_id``; -1 where the model has no unknown token, which raises).
        nucleotide_ids: ids of A, C, G, T/U in :data:`NUCLEOTIDE_COLUMNS` order.
        pad_id, mask_id: padding and mask ids.
        cls_id, sep_id: ids prepended / appended to each sequence, or ``None``.
    """

    letter_ids: np.ndarray
    nucleotide_ids: tuple[int, int, int, int]
    pad_id: int
    mask_id: int
    cls_id: int | None = None
    sep_id: int | None = None

    @classmethod
    def from_tokens(
        cls,
        tokens: Sequence[str],
        *,
        pad: str,
        mask: str,
        unknown: str | None = None,
        cls_token: str | None = None,
        sep_token: str | None = None,
    ) -> Vocabulary:
        """Build from an ordered token list; single letters map case-insensitively, T≡U."""
        index = {token: i for i, token in enumerate(tokens)}
        unknown_id = index[unknown] if unknown is not None else -1
        letter_ids = np.full(256, unknown_id, dtype=np.int64)
        for token, i in index.items():
            if len(token) == 1 and token.isalpha():
                letter_ids[ord(token.upper())] = i
                letter_ids[ord(token.lower())] = i
        thymine = index.get("T", index.get("U"))
        if thymine is None or any(letter not in index for letter in "ACG"):
            raise ValueError(f"vocabulary lacks one of A, C, G, T/U: {list(tokens)}")
        for letter in "TtUu":
            letter_ids[ord(letter)] = thymine
        return cls(
            letter_ids=letter_ids,
            nucleotide_ids=(index["A"], index["C"], index["G"], thymine),
            pad_id=index[pad],
            mask_id=index[mask],
            cls_id=None if cls_token is None else index[cls_token],
            sep_id=None if sep_token is None else index[sep_token],
        )

    def encode(self, sequence: str) -> np.ndarray:
        """Token ids of the nucleotides only, ``(length,)`` int64.

        Raises:
            InputError: a letter the vocabulary cannot take (when there is no unknown token).
        """
        ids = self.letter_ids[np.frombuffer(sequence.encode("ascii", "replace"), dtype=np.uint8)]
        if (ids < 0).any():
            bad = sequence[int(np.flatnonzero(ids < 0)[0])]
            raise InputError(f"letter {bad!r} cannot be encoded (only A, C, G, T/U are taken)")
        return ids


class BertLanguageModel(LanguageModel):
    """Adapter for BERT-style models: one token per nucleotide, optional ``[CLS]``/``[SEP]``.

    Args:
        name: model name.
        model: the network.
        vocabulary: its token ids.
        device: where to run (the model is moved there).
        pad_to: pad every batch to this many tokens *without* a padding mask (the original RNABERT
            embedding pipeline); ``None`` pads to the longest sequence with a real mask.
    """

    def __init__(
        self,
        name: str,
        model: torch.nn.Module,
        vocabulary: Vocabulary,
        device: torch.device,
        *,
        pad_to: int | None = None,
    ):
        self.name = name
        self.model = model.eval().to(device)
        self.vocabulary = vocabulary
        self.device = device
        self.pad_to = pad_to
        config = model.config
        self.special_tokens = (vocabulary.cls_id is not None) + (vocabulary.sep_id is not None)
        self.max_length = config.max_position_embeddings - self.special_tokens
        self.hidden_size = config.hidden_size
        self._nucleotide_ids = torch.tensor(vocabulary.nucleotide_ids, device=device)

    @property
    def offset(self) -> int:
        """Token index of nucleotide 0 (1 with ``[CLS]``)."""
        return int(self.vocabulary.cls_id is not None)

    def encode(
        self, sequences: Sequence[str], mask_positions: Sequence[Sequence[int]] | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Token ids ``(batch, tokens)`` int64 and the ``(batch, tokens)`` attention mask.

        The mask is ``None`` when no sequence is padded (or in ``pad_to`` mode, where padding is
        attended to like the original).

        Raises:
            InputError: empty or too long sequence, letter that cannot be encoded, mask position
                outside the sequence.
        """
        vocabulary = self.vocabulary
        lengths = [len(s) for s in sequences]
        for i, sequence in enumerate(sequences):
            self.check_length(sequence, f"sequence {i + 1}")
        tokens = max(lengths) + self.special_tokens
        if self.pad_to is not None:
            tokens = self.pad_to
        ids = np.full((len(sequences), tokens), vocabulary.pad_id, dtype=np.int64)
        offset = self.offset
        for row, sequence in enumerate(sequences):
            ids[row, offset : offset + len(sequence)] = vocabulary.encode(sequence)
            if vocabulary.cls_id is not None:
                ids[row, 0] = vocabulary.cls_id
            if vocabulary.sep_id is not None:
                ids[row, offset + len(sequence)] = vocabulary.sep_id
            if mask_positions is not None:
                positions = np.asarray(mask_positions[row], dtype=np.int64)
                if positions.size and (positions.min() < 0 or positions.max() >= len(sequence)):
                    raise InputError(
                        f"mask position outside sequence {row + 1} of {len(sequence)} nt"
                    )
                ids[row, offset + positions] = vocabulary.mask_id
        attention_mask = None
        if self.pad_to is None and min(lengths) != max(lengths):
            valid = np.asarray(lengths)[:, None] + self.special_tokens
            attention_mask = torch.from_numpy((np.arange(tokens)[None, :] < valid).astype(np.int64))
            attention_mask = attention_mask.to(self.device)
        return torch.from_numpy(ids).to(self.device), attention_mask

    @torch.inference_mode()
    def forward_batch(
        self,
        sequences: Sequence[str],
        mask_positions: Sequence[Sequence[int]] | None = None,
        *,
        logits: bool = True,
        hidden: bool = False,
    ) -> LMOutput:
        input_ids, attention_mask = self.encode(sequences, mask_positions)
        with self.autocast():
            out = self.model(input_ids, attention_mask, compute_logits=logits)
        length = max(len(s) for s in sequences)
        window = slice(self.offset, self.offset + length)
        nucleotide_logits = None
        if logits:
            nucleotide_logits = out.logits[:, window].index_select(-1, self._nucleotide_ids).float()
        last = out.last_hidden_state[:, window].float() if hidden else None
        lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
        return LMOutput(nucleotide_logits, last, lengths)

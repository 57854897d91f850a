"""One small interface for masked nucleotide language models, and ``load_lm`` to get one by name.

Every adapter hides its tokenisation: callers pass nucleotide strings (DNA or RNA letters, any
case) and get per-nucleotide results, position ``i`` of the result being nucleotide ``i`` of the
input, whatever special tokens (``[CLS]``) the model adds. Logits are restricted to the four
nucleotide tokens, always in the column order A, C, G, T/U (:data:`NUCLEOTIDE_COLUMNS`); extra
vocabulary rows (``N``, IUPAC codes, specials) never enter a score.

Every model call runs through the model's :class:`~rnatools.engine.Engine` (device, precision,
inference mode, transfers). Model names: ``splicebert`` (SpliceBERT.1024nt), ``splicebert-510``
(SpliceBERT.510nt), ``splicebert-human-510`` (SpliceBERT-human.510nt), ``rnabert``, ``rnamsm``
(single sequence as an alignment of depth 1): the entries of kind ``mlm`` of
:data:`rnatools.models.registry.MODELS`. The scores built on them are specified in
``docs/zero-shot-scores.md``.
"""

from __future__ import annotations

import logging
import pickle
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from rnatools.engine import Engine, Precision
from rnatools.errors import InputError, UsageError
from rnatools.models.registry import get_model_info, load_model

logger = logging.getLogger("rnatools.models.lm")

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

    An adapter implements :meth:`encode` (strings → model inputs on the device) and
    :meth:`network` (inputs → per-nucleotide logits and last hidden state); everything else,
    including the engine call, is shared.

    Attributes:
        name: model name as given to :func:`load_lm`.
        max_length: longest window, in nt, that the model takes in one piece.
        hidden_size: width of the embeddings.
        engine: runs every model call (device, precision, inference mode, transfers).
        nucleotide_ids: ``(4,)`` int64 vocabulary ids of A, C, G, T/U on the device, in
            :data:`NUCLEOTIDE_COLUMNS` order.
    """

    name: str
    max_length: int
    hidden_size: int
    engine: Engine
    nucleotide_ids: Tensor

    @abstractmethod
    def encode(
        self, sequences: Sequence[str], mask_positions: Sequence[Sequence[int]] | None = None
    ) -> tuple[Tensor | None, ...]:
        """The network's inputs for a batch, on the engine's device (see :meth:`network`).

        Raises:
            InputError: a sequence is empty, too long, or holds a letter the model cannot take;
                a mask position outside its sequence.
        """

    @abstractmethod
    def network(self, inputs: tuple[Tensor | None, ...], *, logits: bool) -> tuple[Tensor, Tensor]:
        """Run the network on :meth:`encode`'s inputs (called inside ``engine.inference()``).

        Returns:
            ``(batch, positions, vocab)`` logits (anything when ``logits`` is False) and the
            ``(batch, positions, hidden)`` last hidden state; position ``i`` is nucleotide ``i``
            (special tokens before it removed), ``positions`` >= the longest sequence.
        """

    @property
    def device(self) -> torch.device:
        """Where the model runs (the engine's device)."""
        return self.engine.device

    @property
    def precision(self) -> Precision:
        """``fp32`` (default), ``bf16`` or ``fp16`` autocast (the engine's precision)."""
        return self.engine.precision

    def forward_batch(
        self,
        sequences: Sequence[str],
        mask_positions: Sequence[Sequence[int]] | None = None,
        *,
        logits: bool = True,
        hidden: bool = False,
    ) -> LMOutput:
        """Run one batch of sequences, each at most :attr:`max_length` nt, through the engine.

        Args:
            sequences: nucleotide strings (DNA or RNA letters, any case).
            mask_positions: per sequence, 0-based nucleotide positions replaced by the mask token.
            logits: compute the nucleotide logits.
            hidden: return the last hidden state.

        Returns:
            :class:`LMOutput`, tensors on :attr:`device`.

        Raises:
            InputError: a sequence is empty, too long, or holds a letter the model cannot take;
                a mask position outside its sequence.
        """
        inputs = self.encode(sequences, mask_positions)
        length = max(len(s) for s in sequences)
        with self.engine.inference():
            all_logits, last_hidden = self.network(inputs, logits=logits)
            nucleotide_logits = None
            if logits:
                nucleotide_logits = (
                    all_logits[:, :length].index_select(-1, self.nucleotide_ids).float()
                )
            last = last_hidden[:, :length].float() if hidden else None
        lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
        return LMOutput(nucleotide_logits, last, lengths)

    def check_length(self, sequence: str, what: str = "sequence") -> None:
        """Raise :class:`InputError` when ``sequence`` is empty or longer than :attr:`max_length`.

        The too-long error names the parameter ``tile`` (the remedy).
        """
        if not sequence:
            raise InputError(f"{what} is empty")
        if len(sequence) > self.max_length:
            error = InputError(
                f"{what} is {len(sequence)} nt, longer than the {self.max_length} nt that "
                f"{self.name} takes; shorten it or ask for tiling"
            )
            error.parameter = "tile"
            raise error

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

        Raises:
            UsageError: (``pool``) an unknown pooling; (``batch_size``) below 1.
            InputError: see :meth:`forward_batch`.
        """
        if pool not in (None, "mean"):
            raise UsageError(f"pool must be None or 'mean', got {pool!r}", parameter="pool")
        per_nucleotide = self._per_nucleotide(sequences, batch_size, tile, want="hidden")
        if pool == "mean":
            return [array.mean(axis=0) for array in per_nucleotide]
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

        Raises:
            UsageError: (``tile``) tiling together with mask positions; (``batch_size``) below 1.
            InputError: see :meth:`forward_batch`.
        """
        if mask_positions is None:
            return self._per_nucleotide(sequences, batch_size, tile, want="logits")
        if tile:
            raise UsageError("tiling is not offered together with mask positions", parameter="tile")
        results: list[np.ndarray] = []
        items = list(zip(sequences, mask_positions, strict=True))
        for batch in self.engine.batches(
            items, length=lambda item: len(item[0]), batch_size=batch_size, same_length=False
        ):
            chunk = [sequence for sequence, _ in batch]
            out = self.forward_batch(chunk, [positions for _, positions in batch])
            logits = self.engine.to_host(out.nucleotide_logits)
            results.extend(logits[i, : len(s)] for i, s in enumerate(chunk))
        return results

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
        for batch in self.engine.batches(
            pieces, length=lambda piece: len(piece[4]), batch_size=batch_size, same_length=False
        ):
            out = self.forward_batch(
                [p[4] for p in batch], logits=want == "logits", hidden=want == "hidden"
            )
            values = self.engine.to_host(out.nucleotide_logits if want == "logits" else out.hidden)
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


def load_lm(
    name: str,
    weights: str | Path | None = None,
    *,
    device: torch.device | str = "cpu",
    precision: Precision | str = "fp32",
    **options,
) -> LanguageModel:
    """Load a masked language model by name on a new :class:`~rnatools.engine.Engine`.

    A convenience over :func:`rnatools.models.registry.load_model` (which takes an engine).

    Args:
        name: a model of kind ``mlm`` of :data:`rnatools.models.registry.MODELS`
            (``splicebert``, ``splicebert-510``, ``splicebert-human-510``, ``rnabert``,
            ``rnamsm``).
        weights: folder or file; ``None`` reads the model's environment variable.
        device: ``cpu`` (default), ``auto``, ``cuda``, ``cuda:N`` or a :class:`torch.device`.
        precision: ``fp32``, ``bf16`` or ``fp16`` autocast (opt-in).
        options: model-specific options (e.g. ``pad_to_max=True`` for RNABERT).

    Raises:
        UsageError: unknown name (``model``) or option, a device that is not here
            (``device``), fp16 on the CPU (``precision``).
        MissingWeightsError: no weights found (parameter ``weights``).
        InputError: the weights cannot be read or do not fit the model.
    """
    get_model_info(name, kind="mlm")
    return load_model(name, weights, engine=Engine(device, precision), **options)


def reject_options(name: str, options: dict) -> None:
    """Raise :class:`UsageError` when a loader that takes no options was given some."""
    if options:
        raise UsageError(f"{name} takes no model options, got {', '.join(sorted(options))}")


# ----------------------------------------------------------------------------------------------
# Checkpoint files, shared by the language-model loaders.


def _stub_class(qualified_name: str) -> type:
    """A stand-in for a class pickled into a Lightning checkpoint (config dataclasses, enums)."""
    module, _, name = qualified_name.rpartition(".")

    def __init__(self, *args, **kwargs):  # noqa: N807 - accepts whatever the pickle passes
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state):  # noqa: N807
        self.state = state

    stub = type(name, (), {"__init__": __init__, "__setstate__": __setstate__})
    stub.__module__, stub.__qualname__ = module, name
    return stub


def _torch_load(path: Path) -> object:
    """``torch.load`` restricted to tensors (``weights_only``), with stand-ins for pickled classes.

    A Lightning ``.ckpt`` (RNA-MSM's) also pickles its training-config dataclasses; those are
    replaced by inert stubs (never imported, never executed) so the state dict can be read safely.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        logger.debug("%s: stubbing pickled classes %s", path, unsafe)
        stubs = [(_stub_class(name), name) for name in unsafe]
        with torch.serialization.safe_globals(stubs):
            return torch.load(path, map_location="cpu", weights_only=True)


def read_weights_file(path: Path) -> dict[str, Tensor]:
    """Tensors of a weights file, on the CPU: ``.safetensors``, a torch pickle of a state dict
    (``.bin``, ``.pth``, ``.pt``) or a Lightning checkpoint (its ``state_dict``).

    Pickles are read with ``torch.load(weights_only=True)``: no code in them runs.

    Raises:
        InputError: the file is not a readable state dict.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as error:  # safetensors raises its own error types
            raise InputError(f"not a readable safetensors file ({error})", path) from None
    try:
        loaded = _torch_load(path)
    except (pickle.UnpicklingError, RuntimeError, ValueError, EOFError, OSError) as error:
        raise InputError(f"not a readable PyTorch checkpoint ({error})", path) from None
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(isinstance(v, Tensor) for v in loaded.values()):
        raise InputError("expected a state dict (or a checkpoint with 'state_dict')", path)
    return dict(loaded)


# ----------------------------------------------------------------------------------------------
# BERT-style adapters (SpliceBERT, RNABERT).


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
        model: the network (moved to the engine's device).
        vocabulary: its token ids.
        engine: runs every model call.
        pad_to: pad every batch to this many tokens *without* a padding mask (the original RNABERT
            embedding pipeline); ``None`` pads to the longest sequence with a real mask.
    """

    def __init__(
        self,
        name: str,
        model: torch.nn.Module,
        vocabulary: Vocabulary,
        engine: Engine,
        *,
        pad_to: int | None = None,
    ):
        self.name = name
        self.engine = engine
        self.model = model.eval().to(engine.device)
        self.vocabulary = vocabulary
        self.pad_to = pad_to
        config = model.config
        self.special_tokens = (vocabulary.cls_id is not None) + (vocabulary.sep_id is not None)
        self.max_length = config.max_position_embeddings - self.special_tokens
        self.hidden_size = config.hidden_size
        self.nucleotide_ids = torch.tensor(vocabulary.nucleotide_ids, device=engine.device)

    @property
    def offset(self) -> int:
        """Token index of nucleotide 0 (1 with ``[CLS]``)."""
        return int(self.vocabulary.cls_id is not None)

    def encode(
        self, sequences: Sequence[str], mask_positions: Sequence[Sequence[int]] | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Token ids ``(batch, tokens)`` int64 and the ``(batch, tokens)`` bool attention mask
        (True = real token), both on the engine's device.

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
            attention_mask = self.engine.to_device(np.arange(tokens)[None, :] < valid)
        return self.engine.to_device(ids), attention_mask

    def network(self, inputs: tuple[Tensor | None, ...], *, logits: bool) -> tuple[Tensor, Tensor]:
        input_ids, attention_mask = inputs
        out = self.model(input_ids, attention_mask, compute_logits=logits)
        window = slice(self.offset, None)
        all_logits = out.logits[:, window] if logits else out.logits
        return all_logits, out.last_hidden_state[:, window]


__all__ = [
    "NUCLEOTIDE_COLUMNS",
    "BertLanguageModel",
    "LMOutput",
    "LanguageModel",
    "Vocabulary",
    "load_lm",
    "read_weights_file",
    "reject_options",
    "tile_spans",
]

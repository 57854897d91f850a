"""RNA-MSM: an MSA transformer for RNA alignments, with its masked-LM and contact heads.

Sources: RNA-MSM, Zhang et al., Nucleic Acids Research 2024, doi:10.1093/nar/gkad1031; the MSA
Transformer it follows, Rao et al., ICML 2021, PMLR 139:8844-8856; the behaviour of the original
code (yikunpku/RNA-MSM), checked against its outputs by ``tests/test_rnamsm.py``; no code is copied
from either project. The scores built on the model: ``docs/zero-shot-scores.md``.

Model, for an alignment of ``depth`` rows and ``length`` columns (every row gets a leading
``<cls>`` token, no ``<eos>``; ``C = length + 1`` tokens per row):

1. ``x = LN(token[t] + position[p] + row_scalar[r])``, zero at padding; ``p = 2, 3, …`` counts
   the non-padding tokens of a row (index 1 is the padding row of the table), ``row_scalar`` is
   one learned number per alignment row (LayerNorm removes it almost entirely).
2. Per axial layer, pre-LayerNorm with residuals: ``x += RowAttention(LN x)``,
   ``x += ColumnAttention(LN x)``, ``x += W2·GELU(W1·LN x)`` (exact, erf GELU).

   * Row attention is *tied*: one ``(C, C)`` map per head shared by all rows, from scores
     ``Σ_rows q·k`` with ``q`` scaled by ``head_size^-1/2 / sqrt(depth)``. Flattening the rows
     into the head dimension turns it into ordinary attention over columns.
   * Column attention runs over the rows of each column with ``head_size^-1/2`` scaling; with
     depth 1 its softmax is exactly 1, so it reduces to ``W_out·W_v·x``.
3. ``h = LN(x)`` (the last hidden state); logits ``= LN(GELU(W·h))·Eᵀ + b`` with the token
   embedding ``E`` tied.
4. Contacts: the row attentions of every layer and head without ``<cls>``, symmetrised
   ``A + Aᵀ``, average-product corrected ``A − rowsum·colsum/total`` (APC), combined by a
   logistic regression over the ``layers·heads`` maps: ``sigmoid(Σ w_k·A_k + b)``.

Attention uses :func:`torch.nn.functional.scaled_dot_product_attention` with a boolean key
padding mask whenever a batch holds padding; when the row attention maps are needed (contacts,
``row_attentions``) they are computed explicitly as ``softmax(QKᵀ)`` instead.

Weights load from the original PyTorch-Lightning checkpoint (``state_dict`` key names of
``MSATransformer``, ``.ckpt``/``.pt`` or ``.safetensors``) or from the MultiMolecule layout
(``model.safetensors`` + ``config.json`` + ``vocab.txt``, 28-token vocabulary). Both are renamed to
this module's names and the MultiMolecule vocabulary is reduced to the original 12 tokens here,
so every output uses the original vocabulary :data:`VOCABULARY`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnatools.engine import Engine
from rnatools.errors import InputError, MissingWeightsError, UsageError
from rnatools.io.msa import normalise_row
from rnatools.models.bert import AttentionHeads, LayerStack
from rnatools.models.lm import LanguageModel, read_weights_file, reject_options
from rnatools.models.registry import MODELS, find_weights

__all__ = [
    "VOCABULARY",
    "WEIGHTS_ENVIRONMENT_VARIABLE",
    "RNAMSMAdapter",
    "RNAMSMConfig",
    "RNAMSMLanguageModel",
    "RNAMSMModel",
    "RNAMSMOutput",
    "convert_multimolecule_state",
    "convert_original_state",
    "find_rnamsm_weights",
    "load_rnamsm",
    "load_rnamsm_lm",
    "read_rnamsm",
    "read_weights_file",
    "weight_files",
]

logger = logging.getLogger("rnatools.models.rnamsm")

#: Token ids of the original RNA-MSM vocabulary (``Alphabet.from_architecture("rna language")``).
VOCABULARY: tuple[str, ...] = (
    "<cls>", "<pad>", "<eos>", "<unk>", "A", "G", "C", "U", "X", "N", "-", "<mask>",
)  # fmt: skip
CLS_ID = 0
PAD_ID = 1
MASK_ID = 11
_TOKEN_ID = {token: index for index, token in enumerate(VOCABULARY)}

#: Environment variable naming the weights folder or file when no path is given (registry).
WEIGHTS_ENVIRONMENT_VARIABLE = MODELS["rnamsm"].env_var

# Column attention materialises (columns, heads, depth, depth) scores; columns are processed in
# chunks so that one chunk holds about this many score elements.
_COLUMN_ATTENTION_CHUNK_ELEMENTS = 1 << 26


@dataclass(frozen=True)
class RNAMSMConfig(AttentionHeads):
    """Hyper-parameters of RNA-MSM (all inferred from the weights).

    Attributes:
        hidden_size: embedding width (768 in the released model).
        num_layers: axial layers (10).
        num_heads: attention heads (12).
        intermediate_size: feed-forward width (3072).
        max_columns: most tokens per row including ``<cls>`` (1024), i.e. 1023 alignment columns.
        max_rows: most alignment rows (1024, rows of the per-row embedding).
        vocab_size: token ids (12, :data:`VOCABULARY`).
        layer_norm_eps: epsilon of every LayerNorm (``torch.nn.LayerNorm`` default, 1e-5).
    """

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_columns: int = 1024
    max_rows: int = 1024
    vocab_size: int = len(VOCABULARY)
    layer_norm_eps: float = 1e-5


class RNAMSMOutput(NamedTuple):
    """Outputs for one alignment, valid positions only (``<cls>`` and padding removed).

    Attributes:
        logits: ``(depth, length, vocab)`` masked-LM logits over :data:`VOCABULARY` (nats).
        hidden_states: ``num_layers + 1`` tensors of ``(depth, length, hidden)``: the embedding
            output, then each layer's output; the last one has the final LayerNorm applied
            (it is the representation RNA-MSM's inference script saves, row 0 = query).
        row_attentions: ``(layers, heads, length, length)`` tied row-attention probabilities
            (softmax over all key columns including ``<cls>``, whose row and column are then
            dropped, so rows sum to slightly less than 1; layer-major like RNA-MSM's ``*_atp.npy``
            after ``reshape(-1, length, length)``), or ``None`` when not requested.
        contacts: ``(length, length)`` contact probabilities, or ``None`` when not requested.
    """

    logits: Tensor
    hidden_states: tuple[Tensor, ...]
    row_attentions: Tensor | None
    contacts: Tensor | None


# ----------------------------------------------------------------------------------------------
# Modules, in the order forward uses them.


class _Embeddings(nn.Module):
    def __init__(self, config: RNAMSMConfig):
        super().__init__()
        self.token = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=PAD_ID)
        # Row 1 is the padding position; row 0 is never used (positions start at 2).
        self.position = nn.Embedding(config.max_columns + 2, config.hidden_size)
        self.row = nn.Parameter(torch.zeros(config.max_rows))
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, tokens: Tensor) -> Tensor:
        """``tokens (batch, rows, columns)`` → ``(batch, rows, columns, hidden)``."""
        not_padding = tokens.ne(PAD_ID)
        positions = torch.cumsum(not_padding, dim=-1) * not_padding + PAD_ID
        x = self.token(tokens) + self.position(positions)
        x = x + self.row[: tokens.shape[1]].to(x.dtype)[None, :, None, None]
        x = self.norm(x)
        return x * not_padding.unsqueeze(-1).to(x.dtype)


class _Projections(nn.Module):
    """Query, key, value and output projections of one attention block."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)


class _RowAttention(_Projections):
    """Tied row attention: one attention map over columns, shared by every row of an MSA."""

    def __init__(self, config: RNAMSMConfig):
        super().__init__(config.hidden_size)
        self.num_heads = config.num_heads
        self.head_size = config.head_size

    def forward(
        self,
        x: Tensor,
        row_valid: Tensor,
        column_mask: Tensor | None,
        need_weights: bool,
    ) -> tuple[Tensor, Tensor | None]:
        """Args: ``x (B, R, C, D)``; ``row_valid (B, R)`` bool; ``column_mask (B, 1, 1, C)``
        bool (True = attend) or None. Returns ``(B, R, C, D)`` and ``(B, H, C, C)`` or None."""
        batch, rows, columns, hidden = x.shape
        depth = row_valid.sum(dim=1).clamp(min=1).to(x.dtype)
        # Per alignment: head_size^-1/2 / sqrt(depth); padding rows contribute nothing.
        scale = (self.head_size**-0.5) / depth.sqrt()
        query_weight = row_valid.to(x.dtype) * scale[:, None]
        q = self.query(x) * query_weight[:, :, None, None]
        k = self.key(x)
        v = self.value(x)

        def tied(t: Tensor) -> Tensor:  # (B, R, C, D) -> (B, H, C, R * head_size)
            t = t.view(batch, rows, columns, self.num_heads, self.head_size)
            return t.permute(0, 3, 2, 1, 4).reshape(batch, self.num_heads, columns, -1)

        q, k, v = tied(q), tied(k), tied(v)
        if need_weights:
            scores = q @ k.transpose(-1, -2)
            if column_mask is not None:
                scores = scores.masked_fill(~column_mask, float("-inf"))
            probabilities = scores.softmax(dim=-1)
            context = probabilities @ v
        else:
            probabilities = None
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=column_mask, scale=1.0)
        context = context.view(batch, self.num_heads, columns, rows, self.head_size)
        context = context.permute(0, 3, 2, 1, 4).reshape(batch, rows, columns, hidden)
        return self.output(context), probabilities


class _ColumnAttention(_Projections):
    """Attention over the rows of each column (standard scaling, untied)."""

    def __init__(self, config: RNAMSMConfig):
        super().__init__(config.hidden_size)
        self.num_heads = config.num_heads
        self.head_size = config.head_size

    def forward(self, x: Tensor, row_mask: Tensor | None) -> Tensor:
        """Args: ``x (B, R, C, D)``; ``row_mask (B, 1, 1, R)`` bool (True = attend) or None."""
        batch, rows, columns, hidden = x.shape
        if rows == 1:
            # A softmax over a single key is exactly 1.
            return self.output(self.value(x))
        chunk = max(1, _COLUMN_ATTENTION_CHUNK_ELEMENTS // (self.num_heads * rows * rows * batch))
        pieces = [
            self._attend(x[:, :, start : start + chunk], row_mask)
            for start in range(0, columns, chunk)
        ]
        return self.output(torch.cat(pieces, dim=2) if len(pieces) > 1 else pieces[0])

    def _attend(self, x: Tensor, row_mask: Tensor | None) -> Tensor:
        batch, rows, columns, hidden = x.shape

        def by_column(t: Tensor) -> Tensor:  # (B, R, C, D) -> (B, C * H, R, head_size)
            t = t.view(batch, rows, columns, self.num_heads, self.head_size)
            return t.permute(0, 2, 3, 1, 4).reshape(batch, columns * self.num_heads, rows, -1)

        q, k, v = by_column(self.query(x)), by_column(self.key(x)), by_column(self.value(x))
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=row_mask)
        context = context.view(batch, columns, self.num_heads, rows, self.head_size)
        return context.permute(0, 3, 1, 2, 4).reshape(batch, rows, columns, hidden)


class _FeedForward(nn.Module):
    def __init__(self, config: RNAMSMConfig):
        super().__init__()
        self.expand = nn.Linear(config.hidden_size, config.intermediate_size)
        self.contract = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.contract(F.gelu(self.expand(x)))


class _AxialLayer(nn.Module):
    def __init__(self, config: RNAMSMConfig):
        super().__init__()
        eps = config.layer_norm_eps
        self.row_attention_norm = nn.LayerNorm(config.hidden_size, eps=eps)
        self.row_attention = _RowAttention(config)
        self.column_attention_norm = nn.LayerNorm(config.hidden_size, eps=eps)
        self.column_attention = _ColumnAttention(config)
        self.feed_forward_norm = nn.LayerNorm(config.hidden_size, eps=eps)
        self.feed_forward = _FeedForward(config)

    def forward(
        self,
        x: Tensor,
        row_valid: Tensor,
        column_mask: Tensor | None,
        row_mask: Tensor | None,
        need_weights: bool,
    ) -> tuple[Tensor, Tensor | None]:
        update, row_attention = self.row_attention(
            self.row_attention_norm(x), row_valid, column_mask, need_weights
        )
        x = x + update
        x = x + self.column_attention(self.column_attention_norm(x), row_mask)
        x = x + self.feed_forward(self.feed_forward_norm(x))
        return x, row_attention


class _MaskedLMHead(nn.Module):
    def __init__(self, config: RNAMSMConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, x: Tensor, token_embedding: Tensor) -> Tensor:
        return F.linear(self.norm(F.gelu(self.dense(x))), token_embedding, self.bias)


class RNAMSMModel(LayerStack):
    """The RNA-MSM network on padded token batches (see the module docstring for the maths)."""

    def __init__(self, config: RNAMSMConfig):
        super().__init__(config, _Embeddings(config), _AxialLayer)
        self.final_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.lm_head = _MaskedLMHead(config)
        self.contact_regression = nn.Linear(config.num_layers * config.num_heads, 1)

    def forward(
        self, tokens: Tensor, *, need_row_attentions: bool = False
    ) -> tuple[Tensor, list[Tensor], Tensor | None]:
        """Run the network.

        Args:
            tokens: ``(batch, rows, columns)`` int64 ids of :data:`VOCABULARY`; ``<cls>`` first in
                every row; padding (``<pad>``) only at row ends and as whole rows at the bottom.
            need_row_attentions: also return the row-attention maps (explicit softmax path).

        Returns:
            ``logits (B, R, C, vocab)``, the ``num_layers + 1`` hidden states ``(B, R, C, D)``
            (last one after the final LayerNorm) and ``(B, layers, heads, C, C)`` row attentions
            or ``None``.
        """
        not_padding = tokens.ne(PAD_ID)
        row_valid = not_padding.any(dim=2)
        column_valid = not_padding.any(dim=1)
        column_mask = None if bool(column_valid.all()) else column_valid[:, None, None, :]
        row_mask = None if bool(row_valid.all()) else row_valid[:, None, None, :]

        x = self.embeddings(tokens)
        hidden_states = [x]
        row_attentions = []
        for layer in self.layers:
            x, attention = layer(x, row_valid, column_mask, row_mask, need_row_attentions)
            hidden_states.append(x)
            if attention is not None:
                row_attentions.append(attention)
        x = self.final_norm(x)
        hidden_states[-1] = x
        logits = self.lm_head(x, self.embeddings.token.weight)
        stacked = torch.stack(row_attentions, dim=1) if need_row_attentions else None
        return logits, hidden_states, stacked

    def contacts(self, row_attentions: Tensor) -> Tensor:
        """Contact probabilities from one alignment's row attentions.

        Args:
            row_attentions: ``(layers, heads, length, length)``, ``<cls>`` and padding removed.

        Returns:
            ``(length, length)`` probabilities: sigmoid of a logistic regression over the
            symmetrised, APC-corrected maps (Rao et al. 2021; RNA-MSM contact head).
        """
        maps = row_attentions.flatten(0, 1).float()
        maps = maps + maps.transpose(-1, -2)
        row_sums = maps.sum(dim=-1, keepdim=True)
        column_sums = maps.sum(dim=-2, keepdim=True)
        totals = maps.sum(dim=(-1, -2), keepdim=True)
        maps = maps - row_sums * column_sums / totals
        weight = self.contact_regression.weight.float()[0]
        bias = self.contact_regression.bias.float()[0]
        return torch.sigmoid(torch.einsum("kij,k->ij", maps, weight) + bias)


# ----------------------------------------------------------------------------------------------
# Adapter: strings in, valid-position tensors out.


class RNAMSMAdapter:
    """RNA-MSM behind the rnatools language-model interface.

    Args:
        model: the network (moved to the engine's device).
        engine: runs every model call; ``None``: a new fp32 engine on the CPU.

    Attributes:
        name: ``"rnamsm"``.
        vocabulary: :data:`VOCABULARY`, the column order of ``logits``.
        config: the model's :class:`RNAMSMConfig`.
        engine: runs every model call.
        max_length: most alignment columns (nt) per input, 1023 for the released model.
        max_depth: most alignment rows per input, 1024 for the released model.
    """

    name = "rnamsm"
    vocabulary = VOCABULARY
    mask_token_id = MASK_ID

    def __init__(self, model: RNAMSMModel, engine: Engine | None = None):
        self.engine = Engine("cpu") if engine is None else engine
        self.model = model.to(self.engine.device).eval()
        self.config = model.config
        self.max_length = self.config.max_columns - 1
        self.max_depth = self.config.max_rows

    @property
    def device(self) -> torch.device:
        """Where the model runs (the engine's device)."""
        return self.engine.device

    def token_id(self, token: str) -> int:
        """Id of one token of :data:`VOCABULARY` (``T`` is read as ``U``).

        Raises:
            KeyError: not in the vocabulary.
        """
        return _TOKEN_ID["U" if token == "T" else token]

    def encode(self, msa: str | Sequence[str] | Sequence[tuple[str, str]]) -> Tensor:
        """Token ids of one alignment, ``<cls>`` prepended to every row.

        Args:
            msa: a single unaligned sequence (``str``: any case, read as depth 1), or alignment
                rows (``[row, ...]`` or :func:`rnatools.io.msa.read_msa` output), query first;
                rows follow alignment rules: lowercase, ``.`` and ``*`` are deleted insertions,
                ``T``→``U``, ambiguity codes → ``X``.

        Returns:
            ``(depth, length + 1)`` int64 token ids on the CPU.

        Raises:
            InputError: empty input, a bad character, rows of unequal length, or more columns
                or rows than the model accepts.
        """
        if isinstance(msa, str):
            rows = [msa.upper()]
        else:
            rows = [item if isinstance(item, str) else item[1] for item in msa]
        if not rows:
            raise InputError("empty alignment: at least the query row is needed")
        try:
            rows = [normalise_row(row) for row in rows]
        except ValueError as error:
            raise InputError(str(error)) from None
        length = len(rows[0])
        if length == 0:
            raise InputError("the query row has no aligned columns")
        if any(len(row) != length for row in rows):
            raise InputError("alignment rows differ in length after removing insertions")
        if length > self.max_length:
            raise InputError(
                f"alignment has {length} columns; RNA-MSM accepts at most {self.max_length}"
            )
        if len(rows) > self.max_depth:
            raise InputError(
                f"alignment has {len(rows)} rows; RNA-MSM accepts at most {self.max_depth}"
            )
        lookup = torch.tensor([_TOKEN_ID.get(chr(c), -1) for c in range(128)], dtype=torch.long)
        codes = torch.frombuffer(bytearray("".join(rows), "ascii"), dtype=torch.uint8)
        ids = lookup[codes.long()].view(len(rows), length)
        cls_column = torch.full((len(rows), 1), CLS_ID, dtype=torch.long)
        return torch.cat([cls_column, ids], dim=1)

    def forward_batch(
        self,
        msas: Sequence[str | Sequence[str] | Sequence[tuple[str, str]] | Tensor],
        *,
        row_attentions: bool = True,
        contacts: bool = True,
    ) -> list[RNAMSMOutput]:
        """Run several alignments (or single sequences) in one padded batch.

        Padding is masked (keys) so every result equals running the alignment alone, up to
        float rounding; the tied row-attention scaling uses each alignment's own depth.

        Args:
            msas: inputs as accepted by :meth:`encode`, or ``(depth, length + 1)`` token tensors
                from it.
            row_attentions: return the row-attention maps.
            contacts: return contact probabilities (needs the row attentions internally).

        Returns:
            One :class:`RNAMSMOutput` per input, tensors on :attr:`device`, float32 unless the
            engine's precision is bf16/fp16 (autocast).

        Raises:
            InputError: see :meth:`encode`.
        """
        encoded = [m if isinstance(m, Tensor) else self.encode(m) for m in msas]
        if not encoded:
            return []
        depth = max(t.shape[0] for t in encoded)
        columns = max(t.shape[1] for t in encoded)
        tokens = torch.full((len(encoded), depth, columns), PAD_ID, dtype=torch.long)
        for index, t in enumerate(encoded):
            tokens[index, : t.shape[0], : t.shape[1]] = t
        need_attentions = row_attentions or contacts
        outputs = []
        with self.engine.inference():
            logits, hidden_states, attentions = self.model(
                self.engine.to_device(tokens), need_row_attentions=need_attentions
            )
            for index, t in enumerate(encoded):
                rows, valid = t.shape[0], slice(1, t.shape[1])
                item_attentions = None
                if attentions is not None:
                    item_attentions = attentions[index, :, :, valid, valid]
                outputs.append(
                    RNAMSMOutput(
                        logits=logits[index, :rows, valid],
                        hidden_states=tuple(h[index, :rows, valid] for h in hidden_states),
                        row_attentions=item_attentions if row_attentions else None,
                        contacts=self.model.contacts(item_attentions) if contacts else None,
                    )
                )
        return outputs

    def forward(
        self,
        msa: str | Sequence[str] | Sequence[tuple[str, str]] | Tensor,
        *,
        row_attentions: bool = True,
        contacts: bool = True,
    ) -> RNAMSMOutput:
        """Run one alignment or single sequence; see :meth:`forward_batch`."""
        return self.forward_batch([msa], row_attentions=row_attentions, contacts=contacts)[0]

    __call__ = forward

    def embed(self, msa: str | Sequence[str] | Sequence[tuple[str, str]]) -> Tensor:
        """Query-row embedding, as RNA-MSM's inference script saves it (``*_emb.npy``).

        Returns:
            ``(length, hidden)``: the last hidden state (after the final LayerNorm) of row 0.
        """
        output = self.forward(msa, row_attentions=False, contacts=False)
        return output.hidden_states[-1][0]


class RNAMSMLanguageModel(LanguageModel):
    """RNA-MSM as a single-sequence masked language model (:mod:`rnatools.models.lm` interface).

    Each sequence is an alignment of depth 1 (the way RNA-MSM scores a sequence without
    homologs). Letters: DNA or RNA, any case; ``T``→``U``; IUPAC ambiguity codes and ``N`` → ``X``.
    For alignments use :attr:`msa` (:class:`RNAMSMAdapter`).

    Attributes:
        msa: the alignment-level adapter (contacts, row attentions, all hidden states).
    """

    # Columns A, C, G, U of the original vocabulary, in NUCLEOTIDE_COLUMNS order.
    _NUCLEOTIDE_IDS = (_TOKEN_ID["A"], _TOKEN_ID["C"], _TOKEN_ID["G"], _TOKEN_ID["U"])

    def __init__(self, adapter: RNAMSMAdapter, name: str = "rnamsm"):
        self.name = name
        self.msa = adapter
        self.engine = adapter.engine
        self.max_length = adapter.max_length
        self.hidden_size = adapter.config.hidden_size
        self.nucleotide_ids = torch.tensor(self._NUCLEOTIDE_IDS, device=self.engine.device)

    def encode(
        self, sequences: Sequence[str], mask_positions: Sequence[Sequence[int]] | None = None
    ) -> tuple[Tensor]:
        """Token ids ``(batch, 1, length + 1)`` int64 on the engine's device: each sequence a
        depth-1 alignment, ``<cls>`` first, ``<pad>`` after shorter sequences, ``<mask>`` at
        ``mask_positions``.

        Raises:
            InputError: empty or too long sequence, bad letter, mask position outside a sequence.
        """
        for index, sequence in enumerate(sequences):
            self.check_length(sequence, f"sequence {index + 1}")
        encoded = [self.msa.encode(sequence)[0] for sequence in sequences]
        length = max(len(sequence) for sequence in sequences)
        tokens = torch.full((len(sequences), 1, length + 1), PAD_ID, dtype=torch.long)
        for row, ids in enumerate(encoded):
            tokens[row, 0, : ids.shape[0]] = ids
            if mask_positions is not None and len(mask_positions[row]):
                positions = torch.as_tensor(list(mask_positions[row]), dtype=torch.long)
                if int(positions.min()) < 0 or int(positions.max()) >= ids.shape[0] - 1:
                    raise InputError(
                        f"mask position outside sequence {row + 1} of {ids.shape[0] - 1} nt"
                    )
                tokens[row, 0, positions + 1] = MASK_ID
        return (self.engine.to_device(tokens),)

    def network(self, inputs: tuple[Tensor, ...], *, logits: bool) -> tuple[Tensor, Tensor]:
        """Logits over :data:`VOCABULARY` and the last hidden state (after the final
        LayerNorm) of the query row, ``<cls>`` removed."""
        (tokens,) = inputs
        all_logits, hidden_states, _ = self.msa.model(tokens)
        return all_logits[:, 0, 1:], hidden_states[-1][:, 0, 1:]


def load_rnamsm_lm(name: str, path: Path, engine: Engine, **options) -> RNAMSMLanguageModel:
    """The registry's loader of ``rnamsm`` (see :func:`rnatools.models.lm.load_lm`).

    Args:
        name: registry name.
        path: the located weights path (see :func:`weight_files`).
        engine: runs the model.

    Raises:
        UsageError: an option (RNA-MSM takes none).
        MissingWeightsError, InputError: see :func:`read_rnamsm`.
    """
    reject_options(name, options)
    return RNAMSMLanguageModel(RNAMSMAdapter(read_rnamsm(path), engine), name)


# ----------------------------------------------------------------------------------------------
# Weights: finding, reading, renaming.

_PROJECTION_NAMES = {"q": "query", "k": "key", "v": "value", "out": "output"}

# Original names → this module's names; ``None`` marks the attention projections, whose new name
# is built by :func:`_rename`.
_ORIGINAL_RENAMES: tuple[tuple[str, str | None], ...] = (
    (r"^embed_tokens\.weight$", "embeddings.token.weight"),
    (r"^embed_positions\.weight$", "embeddings.position.weight"),
    (r"^msa_position_embedding$", "embeddings.row"),
    (r"^emb_layer_norm_before\.", "embeddings.norm."),
    (r"^emb_layer_norm_after\.", "final_norm."),
    (r"^layers\.(\d+)\.(row|column)_self_attention\.layer_norm\.", r"layers.\1.\2_attention_norm."),
    (r"^layers\.(\d+)\.(row|column)_self_attention\.layer\.(q|k|v|out)_proj\.", None),
    (r"^layers\.(\d+)\.feed_forward_layer\.layer_norm\.", r"layers.\1.feed_forward_norm."),
    (r"^layers\.(\d+)\.feed_forward_layer\.layer\.fc1\.", r"layers.\1.feed_forward.expand."),
    (r"^layers\.(\d+)\.feed_forward_layer\.layer\.fc2\.", r"layers.\1.feed_forward.contract."),
    (r"^contact_head\.regression\.", "contact_regression."),
    (r"^lm_head\.dense\.", "lm_head.dense."),
    (r"^lm_head\.layer_norm\.", "lm_head.norm."),
    (r"^lm_head\.bias$", "lm_head.bias"),
)  # fmt: skip

# MultiMolecule names → original names (then renamed like an original checkpoint).
_MULTIMOLECULE_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^model\.encoder\.layer\.", "layers."),
    (r"^model\.encoder\.layer_norm\.", "emb_layer_norm_after."),
    (r"^model\.embeddings\.word_embeddings\.", "embed_tokens."),
    (r"^model\.embeddings\.position_embeddings\.", "embed_positions."),
    (r"^model\.embeddings\.msa_embeddings$", "msa_position_embedding"),
    (r"^model\.embeddings\.layer_norm\.", "emb_layer_norm_before."),
    (r"^ss_head\.decoder\.", "contact_head.regression."),
    (r"^lm_head\.transform\.dense\.", "lm_head.dense."),
    (r"^lm_head\.transform\.layer_norm\.", "lm_head.layer_norm."),
    (r"^lm_head\.bias$", "lm_head.bias"),
    (r"^lm_head\.decoder\.bias$", "lm_head.bias"),
)

#: MultiMolecule's RNA vocabulary (used when a folder has no ``vocab.txt``).
_MULTIMOLECULE_VOCABULARY: tuple[str, ...] = (
    "<pad>", "<cls>", "<eos>", "<unk>", "<mask>", "<null>", "A", "C", "G", "U", "N", "R", "Y",
    "S", "W", "K", "M", "B", "D", "H", "V", "I", "X", "|", ".", "*", "-", "?",
)  # fmt: skip

# The tied decoder copies of the token embedding; not loaded separately.
_TIED_KEYS = frozenset({"lm_head.weight", "lm_head.decoder.weight"})


def _rename(key: str, renames: tuple[tuple[str, str | None], ...]) -> str | None:
    for pattern, replacement in renames:
        match = re.search(pattern, key)
        if match is None:
            continue
        if replacement is None:
            layer, kind, projection = match.groups()
            replacement = f"layers.{layer}.{kind}_attention.{_PROJECTION_NAMES[projection]}."
            return replacement + key[match.end() :]
        return re.sub(pattern, replacement, key)
    return None


def _renamed(
    state: dict[str, Tensor], renames: tuple[tuple[str, str | None], ...]
) -> Iterator[tuple[str, Tensor]]:
    """``(new key, tensor)`` of ``state``; tied decoder copies and unknown keys (logged at debug
    level) are skipped."""
    for key, tensor in state.items():
        if key in _TIED_KEYS:
            continue
        new_key = _rename(key, renames)
        if new_key is None:
            logger.debug("ignoring checkpoint entry %s", key)
            continue
        yield new_key, tensor


def convert_original_state(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Rename an original RNA-MSM ``state_dict`` to :class:`RNAMSMModel` names.

    The tied ``lm_head.weight`` is dropped and keys the model does not use are skipped (logged at
    debug level); ``msa_position_embedding`` ``(1, rows, 1, 1)`` becomes a ``(rows,)`` vector.
    """
    return {
        key: tensor.reshape(-1) if key == "embeddings.row" else tensor
        for key, tensor in _renamed(state, _ORIGINAL_RENAMES)
    }


def convert_multimolecule_state(
    state: dict[str, Tensor], vocabulary: Sequence[str] = _MULTIMOLECULE_VOCABULARY
) -> dict[str, Tensor]:
    """Rename a MultiMolecule RNA-MSM state dict and reduce its vocabulary to :data:`VOCABULARY`.

    Args:
        state: ``model.safetensors`` tensors (``model.embeddings.word_embeddings.weight`` …).
        vocabulary: the checkpoint's tokens in id order (its ``vocab.txt``).

    Raises:
        InputError: a token of :data:`VOCABULARY` is missing from ``vocabulary``.
    """
    position = {token: index for index, token in enumerate(vocabulary)}
    missing = [token for token in VOCABULARY if token not in position]
    if missing:
        raise InputError(f"MultiMolecule vocabulary lacks the RNA-MSM tokens {missing}")
    rows = torch.tensor([position[token] for token in VOCABULARY])
    original = {
        key: tensor.index_select(0, rows)
        if key in ("embed_tokens.weight", "lm_head.bias")
        else tensor
        for key, tensor in _renamed(state, _MULTIMOLECULE_RENAMES)
    }
    return convert_original_state(original)


def weight_files(path: Path, name: str = "rnamsm") -> list[Path]:
    """The weights file an RNA-MSM loader reads (the registry's layout hook; filesystem only).

    Args:
        path: a weights file, or a folder holding ``model.safetensors`` (MultiMolecule layout,
            with its ``config.json`` and ``vocab.txt`` beside it) or exactly one
            ``.safetensors``, else one ``.ckpt``, else one ``.pt``/``.pth``/``.bin`` file.
        name: registry name.

    Returns:
        ``[weights file]``.

    Raises:
        MissingWeightsError: a folder without weights (the message says where the public
            weights live).
        UsageError: a folder holding several candidate files of one kind.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if (path / "model.safetensors").is_file():
        return [path / "model.safetensors"]
    if path.is_dir():
        for suffixes in ((".safetensors",), (".ckpt",), (".pt", ".pth", ".bin")):
            candidates = sorted(p for p in path.iterdir() if p.suffix in suffixes and p.is_file())
            if len(candidates) == 1:
                return candidates
            if len(candidates) > 1:
                names = ", ".join(p.name for p in candidates)
                raise UsageError(f"{path} holds several RNA-MSM weight files ({names}); name one")
    raise MissingWeightsError(f"no {name} weights file in {path}; {MODELS['rnamsm'].how_to_get}")


def find_rnamsm_weights(weights: str | Path | None = None) -> Path:
    """The RNA-MSM weights file: :func:`rnatools.models.registry.find_weights` (``weights``,
    then ``$RNATOOLS_RNAMSM_WEIGHTS``), then :func:`weight_files`.

    Raises:
        MissingWeightsError: nothing given, a path that does not exist, or a folder without
            weights; the message says where the public weights live.
        UsageError: a folder holds several candidate files (name one).
    """
    (weight_file,) = weight_files(find_weights("rnamsm", weights))
    return weight_file


def _read_multimolecule_vocabulary(folder: Path) -> Sequence[str]:
    vocab = folder / "vocab.txt"
    if not vocab.is_file():
        return _MULTIMOLECULE_VOCABULARY
    return [line.strip() for line in vocab.read_text().splitlines() if line.strip()]


def _config_from_state(state: dict[str, Tensor], source: Path) -> RNAMSMConfig:
    try:
        hidden = state["embeddings.token.weight"].shape[1]
        layer_ids = {int(m.group(1)) for k in state if (m := re.match(r"layers\.(\d+)\.", k))}
        num_layers = len(layer_ids)
        maps = state["contact_regression.weight"].shape[1]
        intermediate = state["layers.0.feed_forward.expand.weight"].shape[0]
        max_columns = state["embeddings.position.weight"].shape[0] - 2
        max_rows = state["embeddings.row"].shape[0]
    except KeyError as error:
        raise InputError(f"not an RNA-MSM checkpoint: no tensor for {error}", source) from None
    if num_layers == 0 or maps % num_layers or layer_ids != set(range(num_layers)):
        raise InputError(
            f"not an RNA-MSM checkpoint: {num_layers} layers, contact head over {maps} maps",
            source,
        )
    return RNAMSMConfig(
        hidden_size=hidden,
        num_layers=num_layers,
        num_heads=maps // num_layers,
        intermediate_size=intermediate,
        max_columns=max_columns,
        max_rows=max_rows,
    )


def _check_heads(config: RNAMSMConfig, config_json: Path) -> None:
    """Cross-check the head count inferred from the contact head with a MultiMolecule config."""
    if not config_json.is_file():
        return
    heads = json.loads(config_json.read_text()).get("num_attention_heads")
    if heads is not None and heads != config.num_heads:
        raise InputError(
            f"num_attention_heads {heads} disagrees with the contact head "
            f"({config.num_layers} layers x {config.num_heads} heads)",
            config_json,
        )


def load_rnamsm(weights: str | Path | None = None, engine: Engine | None = None) -> RNAMSMAdapter:
    """Load RNA-MSM from either weights layout, as the alignment-level adapter.

    Args:
        weights: a weights file or folder (see :func:`weight_files`); ``None`` reads
            ``RNATOOLS_RNAMSM_WEIGHTS``.
        engine: runs the model; ``None``: a new fp32 engine on the CPU.

    Returns:
        The adapter, in eval mode, float32.

    Raises:
        MissingWeightsError: no weights found (message says where the public ones live).
        InputError: the file is not an RNA-MSM checkpoint, or tensors are missing or mis-shaped.
    """
    return RNAMSMAdapter(read_rnamsm(find_weights("rnamsm", weights)), engine)


def read_rnamsm(path: Path) -> RNAMSMModel:
    """Build the network from a located weights path (either layout, see :func:`weight_files`).

    Returns:
        The network on the CPU, in eval mode, float32.

    Raises:
        MissingWeightsError, UsageError: see :func:`weight_files`.
        InputError: the file is not an RNA-MSM checkpoint, or tensors are missing or mis-shaped.
    """
    (path,) = weight_files(path)
    raw = read_weights_file(path)
    if "model.embeddings.word_embeddings.weight" in raw:
        state = convert_multimolecule_state(raw, _read_multimolecule_vocabulary(path.parent))
        layout = "MultiMolecule"
    else:
        state = convert_original_state(raw)
        layout = "original"
    config = _config_from_state(state, path)
    if layout == "MultiMolecule":
        _check_heads(config, path.parent / "config.json")
    model = RNAMSMModel(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    wrong = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or wrong:
        raise InputError(
            f"RNA-MSM weights ({layout} layout) do not fit the model: missing {missing[:5]}, "
            f"mis-shaped {wrong[:5]}",
            path,
        )
    model.load_state_dict({k: state[k].float() for k in expected})
    logger.debug(
        "loaded RNA-MSM (%s layout) from %s: %d layers, %d heads, hidden %d",
        layout, path, config.num_layers, config.num_heads, config.hidden_size,
    )  # fmt: skip
    return model.eval()

"""A small BERT-style masked language model engine shared by SpliceBERT, RNABERT and friends.

Architecture (Devlin et al. 2019, doi:10.48550/arXiv.1810.04805), post-LayerNorm encoder:

``embeddings = LN(word[id] + position[i] + token_type[0])``, then per layer
``x = LN(x + Wo·MHA(x))``, ``x = LN(x + W2·GELU(W1·x))``, then the masked-LM head
``logits = decoder(LN(act(W·x))) + bias`` (``act`` = exact GELU for Hugging Face BERT, identity for
RNABERT).

Attention goes through :func:`torch.nn.functional.scaled_dot_product_attention` with a real key
padding mask: padded tokens never contribute to a valid token's output (the FlashAttention path
of the original SpliceBERT code ignores the mask; this engine never does).

Checkpoint quirks (MultiMolecule names, RNABERT's ``module.``/``gamma``/``beta``) are normalised by
each model file (``splicebert.py``, ``rnabert.py``) to the Hugging Face ``BertForMaskedLM`` layout,
which :func:`rename_hf_bert_keys` maps onto this module's names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "AttentionHeads",
    "BertConfig",
    "BertEmbeddings",
    "BertLayer",
    "BertMaskedLM",
    "BertOutput",
    "MaskedLMHead",
    "key_padding_mask",
    "load_renamed_state_dict",
    "rename_hf_bert_keys",
]


class AttentionHeads:
    """Mixin of transformer configs (dataclasses with ``hidden_size`` and ``num_heads``).

    Raises:
        ValueError: (on construction) ``hidden_size`` is not divisible by ``num_heads``.
    """

    hidden_size: int
    num_heads: int

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}"
            )

    @property
    def head_size(self) -> int:
        """Width of one attention head (``hidden_size / num_heads``)."""
        return self.hidden_size // self.num_heads


@dataclass(frozen=True)
class BertConfig(AttentionHeads):
    """Hyper-parameters of a BERT-style masked language model.

    Attributes:
        vocab_size: number of token ids (rows of the word embedding).
        hidden_size: width of every hidden state.
        num_layers: encoder layers.
        num_heads: attention heads (``hidden_size`` must be divisible by it).
        intermediate_size: width of the feed-forward layer.
        max_position_embeddings: rows of the absolute position embedding (tokens, incl. specials).
        type_vocab_size: rows of the token-type embedding (only type 0 is ever used).
        layer_norm_eps: epsilon of every LayerNorm.
        pad_token_id: id of the padding token.
        head_activation: GELU between the MLM head's dense layer and its LayerNorm (Hugging Face
            BERT) or none (RNABERT, whose ``transform_act_fn`` call is commented out).
        output_size: columns of the MLM decoder (defaults to ``vocab_size``).
    """

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    head_activation: bool = True
    output_size: int | None = None


class BertOutput(NamedTuple):
    """Result of :meth:`BertMaskedLM.forward`.

    Attributes:
        logits: ``(batch, tokens, output_size)`` MLM logits, or ``None`` when not asked for.
        last_hidden_state: ``(batch, tokens, hidden)`` output of the last encoder layer.
        hidden_states: embedding output then every layer's output, each ``(batch, tokens,
            hidden)``, or ``None`` unless ``output_hidden_states=True``.
    """

    logits: Tensor | None
    last_hidden_state: Tensor
    hidden_states: tuple[Tensor, ...] | None


def key_padding_mask(attention_mask: Tensor | None) -> Tensor | None:
    """Turn a ``(batch, tokens)`` 1/0 mask into the boolean ``(batch, 1, 1, tokens)`` SDPA mask.

    ``True`` means "may be attended to". ``None`` (no padding) stays ``None`` so that the fast
    unmasked kernels are used.
    """
    if attention_mask is None:
        return None
    return attention_mask.to(torch.bool)[:, None, None, :]


class BertEmbeddings(nn.Module):
    """Word + absolute position + token-type(0) embeddings, then LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: Tensor) -> Tensor:
        """``(batch, tokens)`` int64 ids → ``(batch, tokens, hidden)``; positions start at 0."""
        tokens = input_ids.shape[1]
        if tokens > self.position.num_embeddings:
            raise ValueError(
                f"{tokens} tokens exceed the {self.position.num_embeddings} position embeddings"
            )
        positions = torch.arange(tokens, device=input_ids.device)
        x = self.word(input_ids) + self.position(positions)[None] + self.token_type.weight[0]
        return self.norm(x)


class BertLayer(nn.Module):
    """One post-LayerNorm encoder layer: self-attention, then a GELU feed-forward block."""

    def __init__(self, config: BertConfig):
        super().__init__()
        hidden = config.hidden_size
        self.num_heads = config.num_heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attention_output = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.intermediate = nn.Linear(hidden, config.intermediate_size)
        self.output = nn.Linear(config.intermediate_size, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)

    def _heads(self, x: Tensor) -> Tensor:
        batch, tokens, hidden = x.shape
        return x.view(batch, tokens, self.num_heads, hidden // self.num_heads).transpose(1, 2)

    def forward(self, x: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """``x`` ``(batch, tokens, hidden)``; ``attention_mask`` bool ``(batch, 1, 1, tokens)``."""
        batch, tokens, hidden = x.shape
        context = F.scaled_dot_product_attention(
            self._heads(self.query(x)),
            self._heads(self.key(x)),
            self._heads(self.value(x)),
            attn_mask=attention_mask,
        )
        context = context.transpose(1, 2).reshape(batch, tokens, hidden)
        x = self.attention_norm(x + self.attention_output(context))
        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))


class MaskedLMHead(nn.Module):
    """``decoder(LN(act(dense(x)))) + bias``; ``act`` is exact GELU or the identity."""

    def __init__(self, config: BertConfig):
        super().__init__()
        output_size = config.output_size or config.vocab_size
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.GELU() if config.head_activation else nn.Identity()
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, output_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(output_size))

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.norm(self.activation(self.dense(x)))) + self.bias


class LayerStack(nn.Module):
    """What every transformer of rnatools starts with: its config, an embedding module and
    ``config.num_layers`` layers built by ``layer(config)`` (state-dict keys ``embeddings.*``,
    ``layers.N.*``)."""

    def __init__(self, config, embeddings: nn.Module, layer) -> None:
        super().__init__()
        self.config = config
        self.embeddings = embeddings
        self.layers = nn.ModuleList(layer(config) for _ in range(config.num_layers))


class BertMaskedLM(LayerStack):
    """Embeddings, encoder layers and a masked-LM head (inference only: no dropout)."""

    def __init__(self, config: BertConfig):
        super().__init__(config, BertEmbeddings(config), BertLayer)
        self.lm_head = MaskedLMHead(config)

    def tie_decoder(self) -> None:
        """Share the decoder weight with the word embedding (``tie_word_embeddings``)."""
        self.lm_head.decoder.weight = self.embeddings.word.weight

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        *,
        output_hidden_states: bool = False,
        compute_logits: bool = True,
    ) -> BertOutput:
        """Run the model.

        Args:
            input_ids: ``(batch, tokens)`` int64.
            attention_mask: ``(batch, tokens)`` 1 = real token, 0 = padding; ``None`` = no padding
                (every token attends to every token, as the original RNABERT pipeline does).
            output_hidden_states: also return the embedding output and every layer's output.
            compute_logits: run the MLM head (skip it for embeddings only).

        Returns:
            :class:`BertOutput`; logits ``(batch, tokens, output_size)``.
        """
        mask = key_padding_mask(attention_mask)
        x = self.embeddings(input_ids)
        hidden_states = [x] if output_hidden_states else None
        for layer in self.layers:
            x = layer(x, mask)
            if hidden_states is not None:
                hidden_states.append(x)
        logits = self.lm_head(x) if compute_logits else None
        return BertOutput(logits, x, tuple(hidden_states) if hidden_states is not None else None)

    def num_parameters(self) -> int:
        """Distinct parameters (a tied decoder counts once)."""
        return sum(p.numel() for p in self.parameters())


def load_renamed_state_dict(
    model: BertMaskedLM, state: dict[str, Tensor], *, source: str, optional: tuple[str, ...] = ()
) -> None:
    """Load an already-renamed state dict strictly, with an error that names what is off.

    Args:
        model: the target module.
        state: tensors under this module's names.
        source: file or folder the tensors came from (for the message).
        optional: names allowed to be missing (e.g. a decoder that is tied afterwards).

    Raises:
        ValueError: missing or unexpected keys, or a shape mismatch.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and k not in optional]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        raise ValueError(
            f"{source}: weights do not fit the model: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}, shape mismatch {wrong[:5]}"
        )
    model.load_state_dict(state, strict=False)


# Hugging Face ``BertForMaskedLM`` names (the layout SpliceBERT and RNABERT were saved in) → this
# module's names. Upstream variants are first normalised to these names by each model file.
_HF_BERT_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^bert\.embeddings\.word_embeddings\.", "embeddings.word."),
    (r"^bert\.embeddings\.position_embeddings\.", "embeddings.position."),
    (r"^bert\.embeddings\.token_type_embeddings\.", "embeddings.token_type."),
    (r"^bert\.embeddings\.LayerNorm\.", "embeddings.norm."),
    (r"^bert\.encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.", r"layers.\1.\2."),
    (r"^bert\.encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"layers.\1.attention_output."),
    (r"^bert\.encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.", r"layers.\1.attention_norm."),
    (r"^bert\.encoder\.layer\.(\d+)\.intermediate\.dense\.", r"layers.\1.intermediate."),
    (r"^bert\.encoder\.layer\.(\d+)\.output\.dense\.", r"layers.\1.output."),
    (r"^bert\.encoder\.layer\.(\d+)\.output\.LayerNorm\.", r"layers.\1.output_norm."),
    (r"^cls\.predictions\.transform\.dense\.", "lm_head.dense."),
    (r"^cls\.predictions\.transform\.LayerNorm\.", "lm_head.norm."),
    (r"^cls\.predictions\.decoder\.weight$", "lm_head.decoder.weight"),
    (r"^cls\.predictions\.bias$", "lm_head.bias"),
)
# Keys a masked-LM port does not use: the position-id buffer, the decoder bias (the same tensor
# as ``cls.predictions.bias``), the pooler and the next-sentence / secondary-structure heads.
_HF_BERT_UNUSED = re.compile(
    r"^(bert\.embeddings\.position_ids|cls\.predictions\.decoder\.bias|bert\.pooler\..*"
    r"|cls\.seq_relationship\..*|cls\.predictions_ss\..*)$"
)


def rename_hf_bert_keys(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Map Hugging Face ``BertForMaskedLM`` key names onto :class:`BertMaskedLM` names.

    Unused keys (position ids, pooler, tied decoder bias, other heads) are dropped; any other
    unknown key is kept under its own name so that :func:`load_renamed_state_dict` reports it.
    """
    renamed: dict[str, Tensor] = {}
    for key, tensor in state.items():
        if _HF_BERT_UNUSED.match(key):
            continue
        new = key
        for pattern, replacement in _HF_BERT_RENAMES:
            new, count = re.subn(pattern, replacement, key)
            if count:
                break
        renamed[new] = tensor
    return renamed

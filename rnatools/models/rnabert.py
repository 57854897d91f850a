"""RNABERT: a BERT of non-coding RNA sequences (embeddings for structural alignment/clustering).

Akiyama & Sakakibara, "Informative RNA base embedding for RNA structural alignment and
clustering by deep representation learning", NAR Genomics and Bioinformatics 2022,
doi:10.1093/nargab/lqac012. Checkpoint: ``bert_mul_2.pth`` from github.com/mana438/RNABERT.

Checkpoint quirks handled here (and nowhere else): DataParallel ``module.`` prefix, ``selfattn``
instead of ``self``, LayerNorm ``gamma``/``beta``; hidden 120 = 12 heads × 10, 6 layers, FFN 40,
440 positions, LayerNorm eps 1e-12, exact GELU, an MLM head *without* activation and with an
untied decoder. Vocabulary ``<pad>,<mask>,A,U,G,C``; no CLS/EOS tokens; only A, C, G, U/T.

Two ways to run a sequence:
- default: the sequence alone, padding excluded by a real attention mask (results do not depend
  on what else is in the batch);
- ``pad_to_max=True``: every sequence padded to 440 tokens and the padding attended to, as the
  original ``MLM_SFP.py --data_embedding`` pipeline does (embeddings differ by up to 0.6).

The heads of the public ``bert_mul_2.pth`` are untrained (weights ~U(±5e-4)): its MLM logits
carry no information; use it for embeddings.
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from rnatools.engine import Engine
from rnatools.errors import InputError, UsageError
from rnatools.models.bert import (
    BertConfig,
    BertMaskedLM,
    load_renamed_state_dict,
    rename_hf_bert_keys,
)
from rnatools.models.lm import BertLanguageModel, Vocabulary, read_weights_file

__all__ = [
    "RNABERT_CONFIG",
    "RNABERT_TOKENS",
    "load_rnabert",
    "read_rnabert",
    "rnabert_state",
    "weight_files",
]

RNABERT_TOKENS = ("<pad>", "<mask>", "A", "U", "G", "C")

RNABERT_CONFIG = BertConfig(
    vocab_size=6,
    hidden_size=120,
    num_layers=6,
    num_heads=12,
    intermediate_size=40,
    max_position_embeddings=440,
    type_vocab_size=2,
    layer_norm_eps=1e-12,
    pad_token_id=0,
    head_activation=False,
)
"""Fixed architecture (the original code hard-codes GELU and eps; its config has no hidden size)."""

WEIGHT_FILE = "bert_mul_2.pth"


def rnabert_state(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Original RNABERT key names → Hugging Face BERT key names."""
    renamed = {}
    for key, tensor in state.items():
        key = key.removeprefix("module.").replace(".selfattn.", ".self.")
        key = key.replace("LayerNorm.gamma", "LayerNorm.weight")
        key = key.replace("LayerNorm.beta", "LayerNorm.bias")
        renamed[key] = tensor
    return renamed


def weight_files(path: Path, name: str = "rnabert") -> list[Path]:
    """The file the RNABERT loader reads (the registry's layout hook; filesystem only).

    Args:
        path: ``bert_mul_2.pth`` (or another ``.pth``/``.safetensors`` file), or a folder
            holding ``bert_mul_2.pth``.
        name: registry name.

    Raises:
        InputError: a folder without ``bert_mul_2.pth``.
    """
    path = Path(path)
    weight_file = path / WEIGHT_FILE if path.is_dir() else path
    if not weight_file.is_file():
        raise InputError(f"{WEIGHT_FILE} is not in this folder", path)
    return [weight_file]


def read_rnabert(path: Path) -> BertMaskedLM:
    """Build the network from ``bert_mul_2.pth`` (or a folder holding it, or another ``.pth``).

    Raises:
        InputError: no weight file, an unreadable file, or weights that do not fit the
            architecture.
    """
    (weight_file,) = weight_files(path)
    state = rename_hf_bert_keys(rnabert_state(read_weights_file(weight_file)))
    model = BertMaskedLM(RNABERT_CONFIG)
    try:
        load_renamed_state_dict(model, state, source=str(weight_file))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return model.eval()


def load_rnabert(
    name: str, path: Path, engine: Engine, *, pad_to_max: bool = False
) -> BertLanguageModel:
    """The registry's loader of RNABERT (see :func:`rnatools.models.lm.load_lm`).

    Args:
        name: registry name.
        path: the located weights path (see :func:`weight_files`).
        engine: runs the model.
        pad_to_max: reproduce the original embedding pipeline (pad to 440, no attention mask).

    Raises:
        UsageError: (``pad_to_max``) not a bool.
        InputError: see :func:`read_rnabert`.
    """
    if not isinstance(pad_to_max, bool):
        raise UsageError("pad_to_max must be True or False", parameter="pad_to_max")
    vocabulary = Vocabulary.from_tokens(RNABERT_TOKENS, pad="<pad>", mask="<mask>")
    model = read_rnabert(path)
    pad_to = RNABERT_CONFIG.max_position_embeddings if pad_to_max else None
    return BertLanguageModel(name, model, vocabulary, engine, pad_to=pad_to)

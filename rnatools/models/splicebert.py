"""SpliceBERT: a BERT masked language model of primary RNA (pre-mRNA) sequences.

Chen et al., "Self-supervised learning on millions of primary RNA sequences from 72 vertebrates
improves sequence-based RNA splicing prediction", Briefings in Bioinformatics 2024,
doi:10.1093/bib/bbae163. Checkpoint facts and the scores built on the model:
``docs/zero-shot-scores.md``.

Loads either
- the original release folder: ``config.json``, ``vocab.txt`` and ``pytorch_model.bin`` (Hugging
  Face ``BertForMaskedLM`` keys, read with ``torch.load(weights_only=True)``) and/or
  ``model.safetensors`` (decoder tied to the word embeddings, decoder bias =
  ``cls.predictions.bias``); a folder holding both is read from ``model.safetensors``;
- the MultiMolecule re-release (keys ``model.``/``lm_head.``/``layer_norm``, 28-token vocabulary
  ``<pad>,<cls>,<eos>,<unk>,<mask>,<null>,A,C,G,U,N,...``).

Either way the adapter takes DNA or RNA letters (any case; U≡T), one token per nucleotide, adds
``[CLS]`` and ``[SEP]`` and hides that one-token offset; scores use only the A, C, G, T/U columns.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor

from rnatools.engine import Engine
from rnatools.errors import IncompleteWeightsError, InputError
from rnatools.models.bert import (
    BertConfig,
    BertMaskedLM,
    load_renamed_state_dict,
    rename_hf_bert_keys,
)
from rnatools.models.lm import BertLanguageModel, Vocabulary, read_weights_file, reject_options

__all__ = ["RELEASE_FOLDERS", "load_splicebert", "read_splicebert", "weight_files"]

RELEASE_FOLDERS: dict[str, tuple[str, ...]] = {
    "splicebert": ("SpliceBERT.1024nt", "splicebert"),
    "splicebert-510": ("SpliceBERT.510nt", "splicebert.510nt", "splicebert.510"),
    "splicebert-human-510": (
        "SpliceBERT-human.510nt",
        "splicebert-human.510nt",
        "splicebert-human.510",
    ),
}
"""Sub-folder names tried, in order, when the weights path is a folder of several releases."""

WEIGHT_FILE_NAMES = ("model.safetensors", "pytorch_model.bin")
"""Weight files of a release folder, in order of preference (safetensors: no pickle)."""


def weight_files(path: Path, name: str = "splicebert") -> list[Path]:
    """The files a SpliceBERT loader reads (the registry's layout hook; filesystem only).

    Args:
        path: a release folder (``config.json``, ``vocab.txt``, weights), a folder holding
            release folders named as in :data:`RELEASE_FOLDERS` for ``name``, or a weight file
            inside a release folder.
        name: registry name (picks the release sub-folder).

    Returns:
        ``[config.json, vocab.txt, weight file]``; in a folder, ``model.safetensors`` when
        present, else ``pytorch_model.bin``.

    Raises:
        IncompleteWeightsError: no ``config.json`` (nor a release sub-folder), no weight file,
            or no ``vocab.txt`` (exit code 3, like missing weights; also an InputError).
    """
    path = Path(path)
    if path.is_file():
        folder, weight_file = path.parent, path
    else:
        folder = path
        if not (folder / "config.json").is_file():
            candidates = RELEASE_FOLDERS.get(name, ())
            for candidate in candidates:
                if (path / candidate / "config.json").is_file():
                    folder = path / candidate
                    break
            else:
                raise IncompleteWeightsError(
                    f"no config.json here nor in a sub-folder named {', '.join(candidates)}",
                    path,
                )
        present = [folder / file_name for file_name in WEIGHT_FILE_NAMES]
        present = [file for file in present if file.is_file()]
        if not present:
            raise IncompleteWeightsError(
                f"neither {' nor '.join(WEIGHT_FILE_NAMES)} is in this folder", folder
            )
        weight_file = present[0]
    for needed in ("config.json", "vocab.txt"):
        if not (folder / needed).is_file():
            raise IncompleteWeightsError(f"{needed} is missing", folder)
    return [folder / "config.json", folder / "vocab.txt", weight_file]


def _config(config_file: Path, vocab_size: int) -> BertConfig:
    raw = json.loads(config_file.read_text())
    if raw.get("hidden_act", "gelu") != "gelu":
        raise InputError(f"hidden_act {raw['hidden_act']!r} is not supported (gelu)", config_file)
    if raw.get("position_embedding_type", "absolute") != "absolute":
        raise InputError("only absolute position embeddings are supported", config_file)
    if raw["vocab_size"] != vocab_size:
        raise InputError(
            f"vocab_size {raw['vocab_size']} differs from the {vocab_size} tokens of vocab.txt",
            config_file,
        )
    return BertConfig(
        vocab_size=raw["vocab_size"],
        hidden_size=raw["hidden_size"],
        num_layers=raw["num_hidden_layers"],
        num_heads=raw["num_attention_heads"],
        intermediate_size=raw["intermediate_size"],
        max_position_embeddings=raw["max_position_embeddings"],
        type_vocab_size=raw.get("type_vocab_size", 2),
        layer_norm_eps=raw.get("layer_norm_eps", 1e-12),
        pad_token_id=raw.get("pad_token_id", 0),
        head_activation=True,
    )


def _vocabulary(tokens: list[str], vocab_file: Path) -> Vocabulary:
    if "[CLS]" in tokens:  # original release
        names = {
            "pad": "[PAD]",
            "mask": "[MASK]",
            "unknown": "[UNK]",
            "cls_token": "[CLS]",
            "sep_token": "[SEP]",
        }
    elif "<cls>" in tokens:  # MultiMolecule
        names = {
            "pad": "<pad>",
            "mask": "<mask>",
            "unknown": "<unk>",
            "cls_token": "<cls>",
            "sep_token": "<eos>",
        }
    else:
        raise InputError("neither a SpliceBERT nor a MultiMolecule vocabulary", vocab_file)
    try:
        return Vocabulary.from_tokens(tokens, **names)
    except (KeyError, ValueError) as exc:
        raise InputError(f"vocabulary is missing a token: {exc}", vocab_file) from None


def _normalise_keys(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """MultiMolecule names → Hugging Face BERT names (the original release's)."""
    if not any(key.startswith("model.") for key in state):
        return state
    renamed = {}
    for key, tensor in state.items():
        key = key.replace("layer_norm", "LayerNorm")
        if key.startswith("model."):
            key = "bert." + key[len("model.") :]
        elif key.startswith("lm_head."):
            key = "cls.predictions." + key[len("lm_head.") :]
        renamed[key] = tensor
    return renamed


def read_splicebert(name: str, path: Path) -> tuple[BertMaskedLM, Vocabulary]:
    """Build the network and vocabulary from a release folder (or its weight file).

    Args:
        name: registry name (picks the release sub-folder, see :func:`weight_files`).
        path: the located weights path.

    Raises:
        InputError: missing files, unreadable weights, or weights that do not fit the config.
    """
    config_file, vocab_file, weight_file = weight_files(path, name)
    tokens = [line.strip() for line in vocab_file.read_text().splitlines() if line.strip()]
    vocabulary = _vocabulary(tokens, vocab_file)
    config = _config(config_file, len(tokens))
    state = rename_hf_bert_keys(_normalise_keys(read_weights_file(weight_file)))
    model = BertMaskedLM(config)
    decoder = state.pop("lm_head.decoder.weight", None)
    # The decoder is tied to the word embeddings in every SpliceBERT release; a stored copy
    # (the .bin) must equal them.
    if decoder is not None and not torch.equal(decoder, state.get("embeddings.word.weight")):
        raise InputError("decoder weight differs from the word embeddings (not tied)", weight_file)
    try:
        load_renamed_state_dict(
            model, state, source=str(weight_file), optional=("lm_head.decoder.weight",)
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    model.tie_decoder()
    return model.eval(), vocabulary


def load_splicebert(name: str, path: Path, engine: Engine, **options) -> BertLanguageModel:
    """The registry's loader of the SpliceBERT entries (see :func:`rnatools.models.lm.load_lm`).

    Raises:
        UsageError: any option (SpliceBERT takes none).
        InputError: see :func:`read_splicebert`.
    """
    reject_options(name, options)
    model, vocabulary = read_splicebert(name, path)
    return BertLanguageModel(name, model, vocabulary, engine)

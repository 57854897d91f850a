"""Every model rnatools knows: its kind, where its weights come from, its licence and citation.

rnatools ships no weights. Each entry of :data:`MODELS` says how the user installs them and how
rnatools finds them, through ONE finder, :func:`find_weights`: an explicit path first, then the
entry's environment variable, then the entry's default location (SpliceAI: the installed
``spliceai`` package). Two per-model hooks, both named ``"module:function"`` and imported only
when used, turn what was found into a model:

* ``layout``: ``function(path, name) -> list[Path]``, the files the loader reads from a located
  file or folder (e.g. ``spliceai1.h5 … spliceai5.h5`` in a folder, or SpliceBERT's
  ``config.json``, ``vocab.txt`` and weight file in a release folder);
* ``loader``: ``function(name, path, engine, **options)``, the model itself
  (:class:`~rnatools.models.base.SpliceModel` or :class:`~rnatools.models.lm.LanguageModel`),
  which reads the files its ``layout`` hook lists.

This module imports neither torch nor numpy, so ``rnatools models`` stays fast; model classes are
reached only through :func:`load_model`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rnatools.errors import MissingWeightsError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from rnatools.engine import Engine

Kind = Literal["splice", "mlm"]
KINDS: dict[str, str] = {"splice": "splice-site model", "mlm": "masked language model"}
"""Model kinds and how messages name them."""


def _function(spec: str) -> Callable[..., Any]:
    """The function named by ``"module:function"`` (the module is imported now)."""
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)


@dataclass(frozen=True)
class ModelInfo:
    """One model of the registry.

    Attributes:
        name: the registry name (``spliceai``, ``splicebert-510``, ...).
        kind: ``"splice"`` (SpliceAI-family splice-site model) or ``"mlm"`` (masked language
            model).
        description: one line.
        paper: citation.
        doi: DOI of the paper.
        licence: licence of the weights (what the user agrees to by installing them).
        env_var: environment variable pointing at the weights (file or folder).
        how_to_get: how a user installs the weights (names ``env_var``).
        loader: ``"module:function"``: ``function(name, path, engine, **options)`` builds the
            model from a located weights path (see :func:`load_model`).
        layout: ``"module:function"``: ``function(path, name) -> list[Path]``, the files the
            loader reads from a located path; raises
            :class:`~rnatools.errors.MissingWeightsError` or
            :class:`~rnatools.errors.InputError` when the layout is incomplete. Torch-free.
        default: ``"module:function"``: ``function() -> Path | None``, where the weights are
            when neither a path nor ``env_var`` is given (empty: nowhere). Torch-free.
    """

    name: str
    kind: Kind
    description: str
    paper: str
    doi: str
    licence: str
    env_var: str
    how_to_get: str
    loader: str
    layout: str
    default: str = ""

    def default_weights(self) -> Path | None:
        """The model's default weights location, or None (no default, or not installed)."""
        return _function(self.default)() if self.default else None

    def weight_files(self, path: Path) -> list[Path]:
        """The files the loader reads from the located ``path`` (see :attr:`layout`)."""
        return _function(self.layout)(Path(path), name=self.name)


_SPLICEAI_GET = (
    "pip install 'rnatools[spliceai]' (or pip install spliceai==1.3.1), or set "
    "$RNATOOLS_SPLICEAI_WEIGHTS to a folder holding spliceai1.h5 ... spliceai5.h5 (or to one "
    "of them)"
)
_SPLICEBERT_LICENCE = "BSD-3-Clause code; weights from Zenodo doi:10.5281/zenodo.7995778"
_SPLICEBERT_GET = (
    "download the original release folders (config.json, vocab.txt, pytorch_model.bin) from "
    "https://github.com/chenkenbio/SpliceBERT (Zenodo doi:10.5281/zenodo.7995778) or the "
    "MultiMolecule re-release https://huggingface.co/multimolecule/splicebert, and set "
    "$RNATOOLS_SPLICEBERT_WEIGHTS to a model folder or to the folder holding them"
)


_GPL_WEIGHTS = "GPL-3.0 (weights; installed by the user, never shipped)"
_OPENSPLICEAI_GET = (
    "download the OSAI-MANE models (models/openspliceai-mane/<F>nt/model_<F>nt_rs1{0..4}.pt) "
    "from https://github.com/Kuanhao-Chao/OpenSpliceAI and set $RNATOOLS_OPENSPLICEAI_WEIGHTS "
    "to the folder holding the 80nt/ 400nt/ 2000nt/ 10000nt/ folders, or to one of them"
)


def _openspliceai(name: str, flank: int) -> ModelInfo:
    """The OpenSpliceAI-MANE flanks share paper, licence, variable and hooks."""
    return ModelInfo(
        name=name,
        kind="splice",
        description=(
            f"OpenSpliceAI-MANE ({flank:,} nt flank): 5-seed SpliceAI-architecture ensemble "
            "trained on MANE, acceptor/donor probability per nt"
        ),
        paper="Chao et al. 2025, eLife 14:RP107454",
        doi="10.7554/eLife.107454",
        licence=_GPL_WEIGHTS,
        env_var="RNATOOLS_OPENSPLICEAI_WEIGHTS",
        how_to_get=_OPENSPLICEAI_GET,
        loader="rnatools.models.openspliceai:load_openspliceai",
        layout="rnatools.models.openspliceai:weight_files",
    )


def _splicebert(name: str, description: str) -> ModelInfo:
    """The three SpliceBERT checkpoints share paper, licence, variable and hooks."""
    return ModelInfo(
        name=name,
        kind="mlm",
        description=description,
        paper="Chen et al. 2024, Briefings in Bioinformatics 25(3):bbae163",
        doi="10.1093/bib/bbae163",
        licence=_SPLICEBERT_LICENCE,
        env_var="RNATOOLS_SPLICEBERT_WEIGHTS",
        how_to_get=_SPLICEBERT_GET,
        loader="rnatools.models.splicebert:load_splicebert",
        layout="rnatools.models.splicebert:weight_files",
    )


MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        ModelInfo(
            name="spliceai",
            kind="splice",
            description="SpliceAI-10k: 5-network CNN ensemble, acceptor/donor probability per nt",
            paper="Jaganathan et al. 2019, Cell 176(3):535-548",
            doi="10.1016/j.cell.2018.12.015",
            licence="CC BY-NC 4.0 (weights; installed by the user, never shipped)",
            env_var="RNATOOLS_SPLICEAI_WEIGHTS",
            how_to_get=_SPLICEAI_GET,
            loader="rnatools.models.spliceai:load_spliceai_model",
            layout="rnatools.models.spliceai_weights:weight_files",
            default="rnatools.models.spliceai_weights:installed_folder",
        ),
        _openspliceai("openspliceai-mane", 10_000),
        *(_openspliceai(f"openspliceai-mane-{f}", f) for f in (80, 400, 2000, 10_000)),
        ModelInfo(
            name="pangolin",
            kind="splice",
            description=(
                "Pangolin: 12-network SpliceAI-architecture model, P(splice) and splice-site "
                "usage per nt in heart, liver, brain and testis"
            ),
            paper="Zeng & Li 2022, Genome Biology 23:103",
            doi="10.1186/s13059-022-02664-4",
            licence=_GPL_WEIGHTS,
            env_var="RNATOOLS_PANGOLIN_WEIGHTS",
            how_to_get=(
                "download the 12 files final.{1,2,3}.{0,2,4,6}.3.v2 from pangolin/models/ of "
                "https://github.com/tkzeng/Pangolin and set $RNATOOLS_PANGOLIN_WEIGHTS to "
                "their folder"
            ),
            loader="rnatools.models.pangolin:load_pangolin",
            layout="rnatools.models.pangolin:weight_files",
        ),
        _splicebert(
            "splicebert", "SpliceBERT (1024 nt): pre-mRNA masked language model, 72 vertebrates"
        ),
        _splicebert(
            "splicebert-510", "SpliceBERT (510 nt, fixed-length): pre-mRNA masked language model"
        ),
        _splicebert(
            "splicebert-human-510",
            "SpliceBERT (510 nt, human only): pre-mRNA masked language model",
        ),
        ModelInfo(
            name="rnabert",
            kind="mlm",
            description="RNABERT: ncRNA masked language model with structural alignment learning",
            paper="Akiyama & Sakakibara 2022, NAR Genomics and Bioinformatics 4(1):lqac012",
            doi="10.1093/nargab/lqac012",
            licence="none stated (github.com/mana438/RNABERT has no licence file): local use only",
            env_var="RNATOOLS_RNABERT_WEIGHTS",
            how_to_get=(
                "download bert_mul_2.pth linked from the README of "
                "https://github.com/mana438/RNABERT and set $RNATOOLS_RNABERT_WEIGHTS to it"
            ),
            loader="rnatools.models.rnabert:load_rnabert",
            layout="rnatools.models.rnabert:weight_files",
        ),
        ModelInfo(
            name="rnamsm",
            kind="mlm",
            description="RNA-MSM: MSA-based RNA language model (MSA transformer)",
            paper="Zhang et al. 2024, Nucleic Acids Research 52(1):e3",
            doi="10.1093/nar/gkad1031",
            licence="as stated by github.com/yikunpku/RNA-MSM (not redistributed)",
            env_var="RNATOOLS_RNAMSM_WEIGHTS",
            how_to_get=(
                "download the checkpoint (RNA-MSM pretrained .ckpt) linked from "
                "https://github.com/yikunpku/RNA-MSM or the MultiMolecule copy "
                "https://huggingface.co/multimolecule/rnamsm (model.safetensors, config.json, "
                "vocab.txt), and set $RNATOOLS_RNAMSM_WEIGHTS to the file or its folder"
            ),
            loader="rnatools.models.rnamsm:load_rnamsm_lm",
            layout="rnatools.models.rnamsm:weight_files",
        ),
    )
}


def model_names(kind: Kind | None = None) -> list[str]:
    """Names of the registry's models, in registry order; only those of ``kind`` when given."""
    return [name for name, info in MODELS.items() if kind is None or info.kind == kind]


def get_model_info(name: str, kind: Kind | None = None) -> ModelInfo:
    """The registry entry of ``name``.

    Args:
        name: registry name.
        kind: when given, ``name`` must be a model of this kind.

    Raises:
        UsageError: (parameter ``model``) unknown model, or one of another kind; the message
            lists the known ones.
    """
    info = MODELS.get(name)
    if kind is None and info is None:
        raise UsageError(f"unknown model {name!r}; known: {', '.join(MODELS)}", parameter="model")
    if kind is not None and (info is None or info.kind != kind):
        raise UsageError(
            f"unknown {KINDS[kind]} {name!r}; choose one of {', '.join(model_names(kind))}",
            parameter="model",
        )
    return info  # type: ignore[return-value]


def find_weights(
    name: str, weights: str | Path | None = None, *, parameter: str = "weights"
) -> Path:
    """Where the weights of model ``name`` are: a file or a folder, as the user named it.

    The one weight finder of rnatools. Order: ``weights`` when given (it must exist), then the
    entry's environment variable (it must exist when set), then the entry's default location
    (the installed ``spliceai`` package for SpliceAI). Which files inside a folder the loader
    reads is the entry's ``layout`` hook's business (:meth:`ModelInfo.weight_files`).

    Args:
        name: registry name.
        weights: explicit file or folder (``~`` is expanded), or None.
        parameter: the settings field that holds ``weights`` (named by the error).

    Raises:
        UsageError: unknown model.
        MissingWeightsError: (``parameter``) the explicit path or the environment variable's
            path does not exist, or nothing was found; the message names the environment
            variable and how to get the weights.
    """
    info = get_model_info(name)
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.exists():
            raise MissingWeightsError(
                f"{name} weights {path} do not exist; {info.how_to_get}", parameter=parameter
            )
        return path
    value = os.environ.get(info.env_var)
    if value:
        path = Path(value).expanduser()
        if not path.exists():
            raise MissingWeightsError(
                f"${info.env_var} {path} does not exist; {info.how_to_get}", parameter=parameter
            )
        return path
    default = info.default_weights()
    if default is not None:
        return default
    raise MissingWeightsError(
        f"no weights for {name}: give a weights path or set ${info.env_var}; {info.how_to_get}",
        parameter=parameter,
    )


def load_model(
    name: str,
    weights: str | Path | None = None,
    *,
    engine: Engine,
    parameter: str = "weights",
    **options: Any,
) -> Any:
    """Find the weights of model ``name`` (:func:`find_weights`) and load the model.

    Args:
        name: registry name.
        weights: file or folder, or None (environment variable, then default location).
        engine: runs the model (device, precision); the model is moved to its device.
        parameter: the settings field that holds ``weights`` (named by weight errors).
        options: model-specific options (e.g. ``pad_to_max=True`` for RNABERT).

    Returns:
        A :class:`~rnatools.models.base.SpliceModel` (kind ``splice``) or a
        :class:`~rnatools.models.lm.LanguageModel` (kind ``mlm``).

    Raises:
        UsageError: unknown model or option.
        MissingWeightsError: (``parameter``) no weights found, or a layout that lacks files.
        InputError: the weights cannot be read or do not fit the model.
    """
    info = get_model_info(name)
    path = find_weights(name, weights, parameter=parameter)
    try:
        return _function(info.loader)(name, path, engine, **options)
    except MissingWeightsError as error:
        if error.parameter is None:
            error.parameter = parameter
        raise


__all__ = [
    "KINDS",
    "MODELS",
    "Kind",
    "ModelInfo",
    "find_weights",
    "get_model_info",
    "load_model",
    "model_names",
]

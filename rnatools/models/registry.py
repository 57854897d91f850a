"""Every model rnatools knows: what it is, where its weights come from, and under which licence.

rnatools ships no weights. Each entry says how the user installs them and how rnatools finds them
(:meth:`ModelInfo.locate`): an explicit ``--weights`` path first, then the entry's environment
variable, then (SpliceAI only) the installed ``spliceai`` package.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rnatools.errors import MissingWeightsError, UsageError
from rnatools.models import spliceai_weights as _spliceai


def _spliceai_locate(weights: Path | None) -> Path | None:
    try:
        files = _spliceai.find_spliceai_weights(weights)
    except MissingWeightsError:
        return None
    return files[0].parent if len(files) > 1 else files[0]


@dataclass(frozen=True)
class ModelInfo:
    """One model of the registry.

    Attributes:
        name: the name used on the command line (``--model``).
        description: one line.
        paper: citation with DOI.
        licence: licence of the weights (what the user agrees to by installing them).
        env_var: environment variable pointing at the weights.
        how_to_get: how a user installs the weights.
        loader: ``"module:function"`` of a masked language model's loader
            (``function(name, weights: Path, device, **options) -> LanguageModel``), imported only
            when the model is used; empty for models that are not language models.
    """

    name: str
    description: str
    paper: str
    doi: str
    licence: str
    env_var: str
    how_to_get: str
    loader: str = ""
    _locate: Callable[[Path | None], Path | None] | None = field(default=None, repr=False)

    def locate(self, weights: Path | None = None) -> Path | None:
        """Where the weights are (a file or folder), or None when not found.

        Order: ``weights`` when given (returned only if it exists), then ``$env_var``, then any
        model-specific default (the installed ``spliceai`` package for SpliceAI).
        """
        if self._locate is not None:
            return self._locate(weights)
        if weights is not None:
            return Path(weights) if Path(weights).exists() else None
        value = os.environ.get(self.env_var)
        if value and Path(value).exists():
            return Path(value)
        return None


_SPLICEBERT_LICENCE = "BSD-3-Clause code; weights from Zenodo doi:10.5281/zenodo.7995778"
_SPLICEBERT_GET = (
    "download the original release folders (config.json, vocab.txt, pytorch_model.bin) from "
    "https://github.com/chenkenbio/SpliceBERT (Zenodo doi:10.5281/zenodo.7995778) or the "
    "MultiMolecule re-release https://huggingface.co/multimolecule/splicebert, and set "
    "$RNATOOLS_SPLICEBERT_WEIGHTS to a model folder or to the folder holding them"
)


def _splicebert(name: str, description: str) -> ModelInfo:
    """The three SpliceBERT checkpoints share paper, licence, variable and loader."""
    return ModelInfo(
        name=name,
        description=description,
        paper="Chen et al. 2024, Briefings in Bioinformatics 25(3):bbae163",
        doi="10.1093/bib/bbae163",
        licence=_SPLICEBERT_LICENCE,
        env_var="RNATOOLS_SPLICEBERT_WEIGHTS",
        how_to_get=_SPLICEBERT_GET,
        loader="rnatools.models.splicebert:load_splicebert",
    )


MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        ModelInfo(
            name="spliceai",
            description="SpliceAI-10k: 5-network CNN ensemble, acceptor/donor probability per nt",
            paper="Jaganathan et al. 2019, Cell 176(3):535-548",
            doi="10.1016/j.cell.2018.12.015",
            licence="CC BY-NC 4.0 (weights; installed by the user, never shipped)",
            env_var=_spliceai.WEIGHTS_ENV,
            how_to_get="pip install 'rnatools[spliceai]' (or pip install spliceai==1.3.1)",
            _locate=_spliceai_locate,
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
        ),
        ModelInfo(
            name="rnamsm",
            description="RNA-MSM: MSA-based RNA language model (MSA transformer)",
            paper="Zhang et al. 2024, Nucleic Acids Research 52(1):e3",
            doi="10.1093/nar/gkad1031",
            licence="as stated by github.com/yikunpku/RNA-MSM (not redistributed)",
            env_var="RNATOOLS_RNAMSM_WEIGHTS",
            how_to_get=(
                "download the checkpoint linked from https://github.com/yikunpku/RNA-MSM or the "
                "MultiMolecule copy https://huggingface.co/multimolecule/rnamsm, and set "
                "$RNATOOLS_RNAMSM_WEIGHTS to it"
            ),
            loader="rnatools.models.rnamsm:load_rnamsm_lm",
        ),
    )
}


def get_model_info(name: str) -> ModelInfo:
    """The registry entry of ``name``.

    Raises:
        UsageError: unknown model; the message lists the known ones.
    """
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]

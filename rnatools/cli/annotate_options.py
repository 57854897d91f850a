"""Options of ``rnatools annotate`` (choices, help texts, the ``--model`` list parser)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.options import StrandChoice
from rnatools.errors import UsageError

ANNOTATE_MODELS = ("spliceai", "splicebert")  # rnatools.pipelines.annotate.ANNOTATE_MODELS


class IndexChoice(str, Enum):
    tbi = "tbi"
    csi = "csi"


class LMModelChoice(str, Enum):
    splicebert = "splicebert"
    splicebert_510 = "splicebert-510"
    splicebert_human_510 = "splicebert-human-510"


def parse_models(text: str) -> tuple[str, ...]:
    """``"spliceai,splicebert"`` → ``("spliceai", "splicebert")`` (order kept, duplicates dropped).

    Raises:
        UsageError: an empty list or a name other than spliceai and splicebert.
    """
    names: list[str] = []
    for name in (part.strip().lower() for part in text.split(",")):
        if name not in ANNOTATE_MODELS:
            raise UsageError(
                f"--model {text!r}: expected a comma-separated list of {', '.join(ANNOTATE_MODELS)}"
            )
        if name not in names:
            names.append(name)
    return tuple(names)


SkipReportOption = Annotated[
    Path | None,
    typer.Option(
        "--skip-report",
        help="TSV with one row per record left without scores and the reason "
        "(intergenic, contig_missing, ref_mismatch, near_contig_end, ref_too_long, "
        "symbolic_allele, iupac_allele, mnv, malformed; SpliceBERT: lm_intergenic, "
        "lm_contig_missing, lm_ref_mismatch, lm_symbolic_allele, lm_iupac_allele, lm_not_snv). "
        "A record can have one row per model; alleles over 50 characters are shortened "
        "(ACGT…(3000 nt)).",
    ),
]
KeepMalformedOption = Annotated[
    bool,
    typer.Option(
        "--keep-malformed",
        help="Write a data line that is not a VCF record (too few columns, a POS that is not a "
        "number, spaces for tabs) to the output as it is, count it as malformed, warn and list it "
        "in --skip-report, instead of stopping with an error naming file and line (exit 1).",
    ),
]
ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="INFO keys to add, comma-separated: spliceai (SpliceAI delta scores), "
        "splicebert (SpliceBERT zero-shot SNV scores, INFO SpliceBERT=ALLELE|SYMBOL|"
        "KL_CONTEXT|DELTA_LOGP), or spliceai,splicebert for both in one pass.",
    ),
]
LMModelOption = Annotated[
    LMModelChoice,
    typer.Option(
        "--lm-model",
        help="SpliceBERT checkpoint: splicebert-510 (SpliceBERT.510nt), "
        "splicebert-human-510 or splicebert (the 1024-nt model).",
    ),
]
LMWeightsOption = Annotated[
    Path | None,
    typer.Option(
        "--lm-weights",
        help="SpliceBERT folder or weight file (default: $RNATOOLS_SPLICEBERT_WEIGHTS).",
    ),
]
LMWindowOption = Annotated[
    int,
    typer.Option(
        "--lm-window",
        min=3,
        help="SpliceBERT window in nt, centred on the variant on the gene's strand "
        "(N past contig ends; at most what the model takes).",
    ),
]
LMStrandOption = Annotated[
    StrandChoice | None,
    typer.Option(
        "--lm-strand",
        help="Also score variants outside every transcript with SpliceBERT, on this "
        "strand, + or - (SYMBOL '.'); by default they get no SpliceBERT entry (lm_intergenic).",
    ),
]

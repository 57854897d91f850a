"""Options of ``rnatools annotate`` (choices, help texts, the ``--model`` list parser)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.options import StrandChoice
from rnatools.errors import UsageError

# rnatools.pipelines.annotate.ANNOTATE_MODELS (repeated here: the CLI does not import torch)
ANNOTATE_MODELS = (
    "spliceai",
    "openspliceai-mane",
    "openspliceai-mane-80",
    "openspliceai-mane-400",
    "openspliceai-mane-2000",
    "openspliceai-mane-10000",
    "pangolin",
    "splicebert",
)


class IndexChoice(str, Enum):
    tbi = "tbi"
    csi = "csi"


class LMModelChoice(str, Enum):
    splicebert = "splicebert"
    splicebert_510 = "splicebert-510"
    splicebert_human_510 = "splicebert-human-510"


def parse_models(text: str) -> tuple[str, ...]:
    """``"spliceai,pangolin"`` → ``("spliceai", "pangolin")`` (order kept, duplicates dropped).

    Raises:
        UsageError: an empty list or a name not in :data:`ANNOTATE_MODELS`.
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


def parse_weights(
    values: list[str] | None, models: tuple[str, ...]
) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """``--weights`` values → (path of the first splice model, ``(model, path)`` pairs).

    ``PATH`` is the weights of the first splice-site model of ``--model``; ``MODEL=PATH`` those
    of the named model.

    Raises:
        UsageError: two plain paths, or ``MODEL=`` naming a model not in ``--model``.
    """
    plain: str | None = None
    named: list[tuple[str, str]] = []
    for value in values or []:
        name, sep, path = value.partition("=")
        model = name.strip().lower()
        if sep and model in ANNOTATE_MODELS:
            if model not in models:
                given = ",".join(models)
                raise UsageError(f"--weights {value!r}: {model} is not in --model {given}")
            named.append((model, path))
        elif plain is None:
            plain = value
        else:
            raise UsageError(
                "--weights: one plain PATH (the first splice model's); name the others as "
                "MODEL=PATH, e.g. --weights pangolin=DIR"
            )
    return plain, tuple(named)


SkipReportOption = Annotated[
    Path | None,
    typer.Option(
        "--skip-report",
        help="TSV with one row per record left without scores and the reason "
        "(intergenic, contig_missing, ref_mismatch, near_contig_end, ref_too_long, "
        "symbolic_allele, iupac_allele, mnv, malformed; the same with openspliceai_ or "
        "pangolin_ in front for those models; SpliceBERT: lm_intergenic, "
        "lm_contig_missing, lm_ref_mismatch, lm_symbolic_allele, lm_iupac_allele, lm_not_snv). "
        "A record can have one row per model; alleles over 50 characters are shortened "
        "(ACGT…(3000 nt)).",
    ),
]
AnnotateWeightsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--weights",
        metavar="[MODEL=]PATH",
        help="Weights folder or file: PATH for the first splice model of --model, MODEL=PATH "
        "for another (repeatable), e.g. --weights pangolin=DIR. Default: the model's "
        "environment variable ($RNATOOLS_SPLICEAI_WEIGHTS, $RNATOOLS_OPENSPLICEAI_WEIGHTS, "
        "$RNATOOLS_PANGOLIN_WEIGHTS), then the installed spliceai package for SpliceAI.",
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
        help="Models to run, comma-separated, all in one pass over the VCF: spliceai "
        "(INFO SpliceAI), openspliceai-mane or openspliceai-mane-80|400|2000|10000 (INFO "
        "OpenSpliceAI, SpliceAI's format and rules), pangolin (INFO Pangolin=GENE|POS:GAIN|"
        "POS:LOSS|Warnings:, see docs/pangolin-scoring.md), splicebert (SpliceBERT zero-shot "
        "SNV scores, INFO SpliceBERT=ALLELE|SYMBOL|KL_CONTEXT|DELTA_LOGP). Example: "
        "spliceai,pangolin,openspliceai-mane,splicebert.",
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

PrecomputedOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--precomputed",
        metavar="FILE.vcf.gz",
        help="Copy entries from this bgzipped, tabix/CSI-indexed VCF (an earlier rnatools output, "
        "or a published file such as Illumina's spliceai_scores.masked.snv.hg38.vcf.gz) instead "
        "of computing them; only records not found (every ALT, every gene the run scores) go to "
        "the model. Repeatable: earlier files win. Settings must agree: rnatools outputs record "
        "theirs (##rnatools_settings); see --precomputed-settings for other files.",
    ),
]
PrecomputedSettingsOption = Annotated[
    str | None,
    typer.Option(
        "--precomputed-settings",
        metavar="distance=50,mask=0",
        help="Settings of --precomputed files that do not record their own (Illumina's: "
        "distance=50; raw files mask=0, masked files mask=1); a file without recorded or stated "
        "settings is refused, and so are settings other than the run's.",
    ),
]
PrecomputedOnlyOption = Annotated[
    bool,
    typer.Option(
        "--precomputed-only",
        help="Run no model (no weights needed): records not found in --precomputed get no "
        "entry and are counted as not_precomputed (what VEP's plugin does silently).",
    ),
]


class TranscriptsChoice(str, Enum):
    gene = "gene"
    canonical = "canonical"
    mane = "mane"
    all = "all"


TranscriptsOption = Annotated[
    TranscriptsChoice,
    typer.Option(
        "--transcripts",
        help="gene: one entry per gene (SpliceAI's rows; the SpliceAI key is always this). "
        "canonical, mane (MANE Select and MANE Plus Clinical) or all (every transcript holding "
        "the variant): also write SpliceAI_TX=ALLELE|SYMBOL|TRANSCRIPT|PRIORITY|DS_AG|...|DP_DL "
        "(OpenSpliceAI_TX likewise), each transcript's window N-padded outside that transcript "
        "and masked with its exons. Needs a GTF/GFF3 -a.",
    ),
]
RawScoresOption = Annotated[
    bool,
    typer.Option(
        "--raw-scores",
        help="Also write SpliceAI_RAW=ALLELE|SYMBOL|DS_AG_REF|DS_AG_ALT|...|DS_DL_ALT: the REF "
        "and ALT probabilities at the four delta positions (3 decimals), so 0.95->0.05 and "
        "0.15->0.05 can be told apart. Entries copied from --precomputed files have none.",
    ),
]
ScoreMnvOption = Annotated[
    bool,
    typer.Option(
        "--score-mnv",
        help="Score MNVs and delins (REF and ALT both longer than 1 nt) instead of writing '.' "
        "(SpliceAI 1.3.1): equal lengths base for base, others aligned like the indel of the "
        "same length difference (docs/spliceai-scoring.md).",
    ),
]
NormalizeOption = Annotated[
    bool,
    typer.Option(
        "--normalize",
        help="Score each indel in its left-aligned, trimmed form (bcftools norm's rule) so "
        "equivalent representations get equal scores; the record is written as it came. "
        "Records that are not normalised are counted either way (not_normalized).",
    ),
]
MaxScoreOption = Annotated[
    bool,
    typer.Option(
        "--max-score",
        help="Also write SpliceAI_DS_max (OpenSpliceAI_DS_max, Pangolin_max = max |change|): "
        "the largest score over the record's alleles and genes, a single field to filter on.",
    ),
]
BlockSizeOption = Annotated[
    int | None,
    typer.Option(
        "--block-size",
        min=1,
        help="Records read, scored and written per block [default: 512 on the CPU, 4096 on CUDA].",
        show_default=False,
    ),
]
OverlapOption = Annotated[
    bool | None,
    typer.Option(
        "--overlap/--no-overlap",
        help="Read and plan the next block and write the previous one on background threads "
        "while the model runs (default: on CUDA only; on the CPU they would take cores from the "
        "model). The output is the same either way.",
        show_default=False,
    ),
]

"""Options shared by several subcommands (one definition each)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class PrecisionChoice(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


DeviceOption = Annotated[
    str,
    typer.Option("--device", help="auto (CUDA when present), cpu, cuda or cuda:N."),
]
BatchSizeOption = Annotated[
    int,
    typer.Option(
        "--batch-size", min=1, help="Windows per model call; lower it if memory runs out."
    ),
]
ThreadsOption = Annotated[
    int,
    typer.Option(
        "--threads", min=0, help="CPU threads for torch and htslib (0 = library default)."
    ),
]
PrecisionOption = Annotated[
    PrecisionChoice,
    typer.Option(
        "--precision",
        help="fp32 (default, deterministic, TF32 off); bf16 or fp16 are faster on GPU, opt-in.",
    ),
]
FastaOption = Annotated[
    Path,
    typer.Option(
        "--fasta", "-f", help="Reference FASTA, plain or bgzip (.fai/.gzi built if missing)."
    ),
]
WeightsOption = Annotated[
    Path | None,
    typer.Option("--weights", help="Folder or file of model weights (overrides the environment)."),
]
RegionsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--regions",
        metavar="CHROM:START-END",
        help="Only work inside chrom:start-end (1-based inclusive; repeatable). A VCF with a "
        "tabix/CSI index is read by region; other inputs are scanned.",
    ),
]
RegionsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--regions-file", metavar="BED", help="Only work inside the intervals of this BED file."
    ),
]
ShardOption = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="I/N",
        help="Do part I of N (e.g. 2/8): contiguous parts of similar cost whose outputs, "
        "joined in order by `rnatools merge`, equal the unsharded output byte for byte.",
    ),
]

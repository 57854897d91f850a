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
    typer.Option(
        "--device",
        help="auto (CUDA when present), cpu, cuda or cuda:N; checked before any work starts.",
    ),
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
        "--threads",
        min=0,
        help="CPU threads for the model on the CPU (0 = all cores this process may use, its "
        "CPU affinity and container quota; $OMP_NUM_THREADS when set). With --device cuda the "
        "model runs on the GPU and the threads only serve reading, planning and encoding.",
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
        help="Restrict the run to chrom:start-end (1-based inclusive; repeatable): the input "
        "outside is left out, e.g. to split a big job (see --shard). A tabix/CSI-indexed VCF "
        "input is read by region, any other input is scanned.",
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


class StrandChoice(str, Enum):
    """``--strand`` of every command (one enum, the union of what they take). A command that
    takes fewer values says so in its help and checks with :func:`strand_value`."""

    auto = "auto"
    plus = "+"
    minus = "-"
    both = "both"


def strand_value(
    choice: StrandChoice | str, allowed: tuple[str, ...], flag: str = "--strand"
) -> str:
    """The value of a strand option (``flag``) when this command takes it.

    Raises:
        UsageError: a value outside ``allowed`` (exit code 2).
    """
    from rnatools.errors import UsageError

    value = choice.value if isinstance(choice, StrandChoice) else str(choice)
    if value not in allowed:
        raise UsageError(f"{flag} {value}: this command takes {', '.join(allowed)}")
    return value

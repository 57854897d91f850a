"""Options shared by the language-model subcommands (``embed``, ``mlm``, ``ism``)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Language model: splicebert (1024 nt), splicebert-510, splicebert-human-510, "
        "rnabert (440 nt), rnamsm (single sequence as a depth-1 alignment).",
    ),
]
SequencesOption = Annotated[
    Path | None,
    typer.Option(
        "--sequences",
        "-s",
        exists=True,
        dir_okay=False,
        help="FASTA of sequences (DNA or RNA letters; plain or gzip).",
    ),
]
PadToMaxOption = Annotated[
    bool,
    typer.Option(
        "--pad-to-max",
        help="RNABERT only: pad every sequence to 440 tokens and attend to the padding, as the "
        "original embedding pipeline does (default: each sequence alone, padding masked).",
    ),
]


class PoolChoice(str, Enum):
    none = "none"
    mean = "mean"

"""rnatools score: the entries annotate would write for variants typed on the command line
(see rnatools.pipelines.score)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.console import progress_bar, stdout, summary
from rnatools.cli.options import (
    BatchSizeOption,
    DeviceOption,
    PrecisionChoice,
    PrecisionOption,
    ThreadsOption,
    WeightsOption,
)

_HELP = (
    "Splice scores of single variants, no VCF to write: the entries `rnatools annotate` writes "
    "(same numbers: the variants go through annotate), one row per variant, model, allele and "
    "gene; a table on a terminal, TSV when piped or with -o. Variants as chr:pos:ref:alt, "
    "chr-pos-ref-alt (SpliceAI-lookup, gnomAD) or 'chr:pos ref>alt' (POS 1-based); - reads "
    "them one per line from standard input."
)

AnnotationOption = Annotated[
    str,
    typer.Option(
        "--annotation",
        "-a",
        help="grch37 or grch38 (tables of the installed spliceai package), a table in that "
        "format, or a GTF/GFF3.",
    ),
]
ModelsOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Models, comma-separated, as annotate's --model (e.g. spliceai, spliceai,splicebert).",
    ),
]


def parse_model_list(text: str) -> tuple[str, ...]:
    """``"spliceai, pangolin"`` → ``("spliceai", "pangolin")`` (order kept, duplicates dropped);
    the pipeline checks the names."""
    names: list[str] = []
    for name in (part.strip().lower() for part in text.split(",")):
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _variant_texts(variants: list[str]) -> list[str]:
    from rnatools.pipelines.score import read_variant_lines

    texts: list[str] = []
    for text in variants:
        if text == "-":
            texts += read_variant_lines(sys.stdin)
        else:
            texts.append(text)
    return texts


def _print_table(result) -> None:
    """The rows as a table on the terminal: columns that hold only ``.`` are left out, and
    cells fold rather than being cut when the terminal is narrow."""
    from rich.table import Table
    from rich.text import Text

    keep = [
        column
        for k, column in enumerate(result.columns)
        if k < 4 or any(row[column] != "." for row in result.rows)
    ]
    needed = sum(
        max(len(column), *(len(row[column]) for row in result.rows)) + 3 for column in keep
    )
    if needed > stdout.width:  # too narrow for a table: one block per row
        for row in result.rows:
            stdout.print(Text(" ".join(row[column] for column in keep[:4]), style="bold"))
            stdout.print(Text("  " + "  ".join(f"{c}={row[c]}" for c in keep[4:])))
        return
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for column in keep:
        numeric = column not in ("variant", "model", "allele", "gene", "skip", "warnings")
        table.add_column(
            Text(column),
            justify="right" if numeric else "left",
            overflow="fold",
            min_width=len(column),
        )
    for row in result.rows:
        table.add_row(*(Text(row[column]) for column in keep))
    stdout.print(table)


def register(app: typer.Typer) -> None:
    """Add ``score`` to ``app``."""

    @app.command("score", help=_HELP)
    def score(
        variants: Annotated[
            list[str],
            typer.Argument(
                metavar="VARIANT", help="chr:pos:ref:alt, chr-pos-ref-alt, 'chr:pos ref>alt' or -."
            ),
        ],
        fasta: Annotated[
            Path, typer.Option("--fasta", "-f", help="Reference FASTA, plain or bgzip.")
        ],
        annotation: AnnotationOption,
        model: ModelsOption = "spliceai",
        distance: Annotated[
            int,
            typer.Option("--distance", "-d", min=0, max=4999, help="Score positions within D nt."),
        ] = 50,
        mask: Annotated[
            bool, typer.Option("--mask", help="SpliceAI -M 1 (as annotate --mask).")
        ] = False,
        output: Annotated[
            str,
            typer.Option(
                "--output",
                "-o",
                help="Write TSV here (- = standard output, a table on a terminal).",
            ),
        ] = "-",
        tsv: Annotated[
            bool, typer.Option("--tsv", help="TSV on standard output even on a terminal.")
        ] = False,
        device: DeviceOption = "auto",
        batch_size: BatchSizeOption = 32,
        threads: ThreadsOption = 0,
        precision: PrecisionOption = PrecisionChoice.fp32,
        weights: WeightsOption = None,
    ) -> None:
        from rnatools.io.atomic import atomic_output
        from rnatools.pipelines.score import (
            ScoreSettings,
            format_tsv,
            parse_variants,
            run_score,
        )

        settings = ScoreSettings(
            variants=tuple(parse_variants(_variant_texts(variants))),
            fasta=fasta,
            annotation=annotation,
            models=parse_model_list(model),
            max_distance=distance,
            mask=mask,
            device=device,
            precision=precision.value,
            threads=threads,
            batch_size=batch_size,
            weights=weights,
        )
        result = run_score(settings, progress=progress_bar)
        if output == "-" and not tsv and sys.stdout.isatty():
            _print_table(result)
        else:
            with atomic_output(output) as handle:
                handle.write(format_tsv(result))
        skipped = ", ".join(f"{r} {n}" for r, n in sorted(result.skipped.items()))
        summary(
            f"rnatools score: {len(settings.variants)} variant(s), {len(result.rows)} row(s); "
            f"not scored: {skipped or 'none'}"
        )

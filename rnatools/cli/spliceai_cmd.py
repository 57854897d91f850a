"""rnatools spliceai (drop-in for SpliceAI 1.3.1's command) and rnatools annotation build."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.annotate import annotate_and_report
from rnatools.cli.options import DeviceOption, ThreadsOption
from rnatools.errors import InputError, UsageError

log = logging.getLogger("rnatools.annotate")


def register(app: typer.Typer) -> None:
    """Add the drop-in ``spliceai`` command and the ``annotation`` group to ``app``."""

    @app.command(
        "spliceai",
        help="Drop-in replacement for the spliceai command (same flags, same output file): "
        "spliceai -I IN -O OUT -R REF -A ANN -D 50 -M 0 becomes rnatools spliceai ... "
        "See `rnatools annotate` for the extra options.",
    )
    def spliceai(
        input_path: Annotated[str, typer.Option("-I", help="Input VCF (- = stdin).")] = "-",
        output_path: Annotated[str, typer.Option("-O", help="Output VCF (- = stdout).")] = "-",
        reference: Annotated[Path | None, typer.Option("-R", help="Reference FASTA.")] = None,
        annotation: Annotated[
            str | None, typer.Option("-A", help="grch37, grch38 or an annotation table.")
        ] = None,
        distance: Annotated[
            int, typer.Option("-D", min=0, max=4999, help="Max distance (nt).")
        ] = 50,
        mask: Annotated[int, typer.Option("-M", min=0, max=1, help="Mask scores (0/1).")] = 0,
        device: DeviceOption = "auto",
        threads: ThreadsOption = 0,
    ) -> None:
        from rnatools.pipelines.annotate import AnnotateSettings

        if reference is None or annotation is None:
            raise UsageError("-R (reference FASTA) and -A (annotation) are required")
        annotate_and_report(
            AnnotateSettings(
                input=input_path,
                output=output_path,
                fasta=reference,
                annotation=annotation,
                max_distance=distance,
                mask=bool(mask),
                device=device,
                threads=threads,
                write_settings=False,  # the header stays the official CLI's
            )
        )

    annotation_app = typer.Typer(
        help="SpliceAI annotation tables (one canonical transcript per gene).",
        no_args_is_help=True,
    )

    @annotation_app.command(
        "build",
        help="Build a SpliceAI annotation table from a GTF/GFF3 (gzip ok): one row per gene from "
        "its canonical transcript (MANE_Select, then Ensembl_canonical, then basic "
        "protein_coding, then longest exon total; see "
        "rnatools.io.gtf.canonical_transcript). Use it with annotate -a TABLE.",
    )
    def build(
        gene_models: Annotated[Path, typer.Argument(help="GTF or GFF3 file.")],
        output: Annotated[
            str, typer.Option("--output", "-o", help="Table to write (- = stdout).")
        ] = "-",
    ) -> None:
        from rnatools.io.gene_table import rows_from_gene_models, write_gene_table

        if not gene_models.is_file():
            raise InputError("gene model file not found", gene_models)
        count = write_gene_table(rows_from_gene_models(gene_models), output)
        log.info("wrote %d genes to %s", count, output)

    app.add_typer(annotation_app, name="annotation")

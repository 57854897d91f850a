"""rnatools export: the scores of an annotated VCF for VEP, Exomiser or a spreadsheet
(see rnatools.pipelines.export)."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Annotated

import typer

from rnatools.cli.console import summary

log = logging.getLogger("rnatools.export")

_HELP = """Export the INFO entries of one key of an annotated VCF (rnatools annotate, or
SpliceAI's own output) for other tools. Records without the key are counted and left out; a
malformed entry stops the run with the file, line and entry.

--to vep: a bgzipped, tabix-indexed VCF (-o OUT.vcf.gz) for the Ensembl VEP SpliceAI plugin:
one ALT and one gene per line, INFO holding only
SpliceAI=ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL (the plugin splits the
INFO column on '|' and matches SYMBOL to VEP's gene symbol, so comma-joined entries cannot be
read); entries without scores ('.') are left out. SpliceAI or OpenSpliceAI keys only (an
OpenSpliceAI key is written under SpliceAI=). Use it as --plugin
SpliceAI,snv=OUT.vcf.gz,indel=OUT.vcf.gz, or with --split and -o OUT (a prefix, no extension)
as snv=OUT.snv.vcf.gz,indel=OUT.indel.vcf.gz (single-base substitutions in the first,
everything else in the second). The input must be sorted by position. VEP reports an entry only
when its SYMBOL is VEP's gene symbol (gene names, as in SpliceAI's tables or a GTF's
gene_name).

--to exomiser: '#CHR POS REF ALT SCORE', tab-separated, one line per record and ALT, SCORE = the
largest delta score of the ALT over its genes and transcripts (Pangolin: largest |gain| or
|loss|). This is the file of Exomiser's TEST pathogenicity source (TestPathogenicityScoreDao,
Exomiser 12.0.0 and later: CHR as 1-22, X, Y, M, so 'chr' is dropped and MT becomes M; POS
1-based; one ALT per line; SCORE 0 = benign to 1 = pathogenic; read as a bgzipped tabix file,
'tabix -s1 -b2 -e2 -c#'). With -o OUT.tsv.gz it is written bgzipped and indexed that way (the
input must then be sorted); point exomiser.hg38.test-pathogenicity-score-path (or hg19) at it and
add TEST to the analysis' pathogenicity sources. ALTs without any score are left out.

--to tsv: one row per record x allele x gene (x transcript for *_TX keys), with a header: chrom
pos id ref alt gene transcript ds_ag ds_al ds_dg ds_dl dp_ag dp_al dp_dg dp_dl max (*_TX keys
add priority after transcript); for Pangolin keys chrom pos id ref alt gene gain_position gain
loss_position loss max. Missing values ('.') are empty cells. -o .tsv, .tsv.gz (gzip) or -."""


class ExportFormatChoice(str, Enum):
    vep = "vep"
    exomiser = "exomiser"
    tsv = "tsv"


def export(
    input: Annotated[
        str,
        typer.Argument(
            help="Annotated VCF/BCF (plain, bgzip or gzip; - = stdin).", metavar="ANNOTATED_VCF"
        ),
    ],
    to: Annotated[
        ExportFormatChoice,
        typer.Option("--to", help="vep, exomiser or tsv (see above).", case_sensitive=False),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="vep: OUT.vcf.gz (with --split: the prefix OUT); exomiser: .tsv, .tsv.gz "
            "(bgzip + tabix) or -; tsv: .tsv, .tsv.gz or -.",
        ),
    ] = "-",
    key: Annotated[
        str,
        typer.Option(
            "--key",
            help="INFO key to export: SpliceAI, OpenSpliceAI, SpliceAI_TX, OpenSpliceAI_TX, "
            "Pangolin, Pangolin_TX.",
        ),
    ] = "SpliceAI",
    split: Annotated[
        bool,
        typer.Option(
            "--split",
            help="vep: write OUT.snv.vcf.gz and OUT.indel.vcf.gz, the plugin's snv= and indel= "
            "files.",
        ),
    ] = False,
) -> None:
    from rnatools.pipelines.export import ExportSettings, export_scores, summary_line

    settings = ExportSettings(
        input=input,
        output=output,
        to=to.value,  # type: ignore[arg-type]
        key=key,
        split=split,
    )
    result = export_scores(settings)
    summary(summary_line(result, settings))
    if result.outputs and result.outputs != ["-"]:
        log.info("wrote %s", ", ".join(result.outputs))


def register(app: typer.Typer) -> None:
    """Add ``rnatools export`` to ``app``."""
    app.command("export", help=_HELP)(export)

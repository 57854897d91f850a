"""rnatools pangolin: drop-in for Pangolin's command (same arguments, same output file).

``pangolin VARIANTS REFERENCE ANNOTATION PREFIX -d 50 -m True`` becomes ``rnatools pangolin
VARIANTS REFERENCE ANNOTATION PREFIX ...``; the output is ``PREFIX.vcf`` (or ``PREFIX.csv`` for a
CSV input) with Pangolin's INFO key/column. The annotation is the GTF/GFF3 itself (Pangolin's
gffutils database is not read). Scores: :mod:`rnatools.scoring.pangolin`,
``docs/pangolin-scoring.md``.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rnatools.cli.options import BatchSizeOption, DeviceOption, ThreadsOption, WeightsOption
from rnatools.errors import InputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from rnatools.pipelines.annotate import AnnotateSettings

PANGOLIN_KEY = "Pangolin"

_HELP = (
    "Drop-in replacement for Pangolin's command (Zeng & Li 2022, "
    "doi:10.1186/s13059-022-02664-4): pangolin VARIANTS REFERENCE ANNOTATION PREFIX -d 50 "
    "-m True becomes rnatools pangolin ... Writes PREFIX.vcf (INFO Pangolin: "
    "gene|pos:gain|pos:loss|Warnings: per gene, one group per ALT allele) or PREFIX.csv (a "
    "Pangolin column). ANNOTATION is the GTF/GFF3 (gzip ok), not a gffutils database. Every ALT "
    "allele is scored; -s/--score_exons are not offered. See docs/pangolin-scoring.md."
)
_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_annotation(path: Path) -> None:
    """A readable GTF/GFF3 (or gene table), not Pangolin's gffutils database.

    Raises:
        InputError: the file is missing, or is a gffutils (SQLite) database.
    """
    if not path.is_file():
        raise InputError("annotation not found (expected a GTF/GFF3 file)", path)
    with open(path, "rb") as handle:
        if handle.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC:
            raise InputError(
                "this is a gffutils database (Pangolin's create_db.py output); rnatools reads "
                "the annotation itself: pass the GTF/GFF3 the database was built from (e.g. "
                "gencode.v38.annotation.gtf.gz)",
                path,
            )


def output_path(variants: Path, prefix: str) -> tuple[str, Path]:
    """``("vcf" | "csv", PREFIX.vcf | PREFIX.csv)`` from the input's name, as Pangolin does.

    Raises:
        UsageError: (``variants``) the input is neither ``.vcf`` nor ``.csv``.
    """
    name = variants.name.lower()
    if name.endswith((".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")):
        return "vcf", Path(f"{prefix}.vcf")
    if name.endswith(".csv"):
        return "csv", Path(f"{prefix}.csv")
    raise UsageError(
        f"VARIANTS must be a .vcf (.vcf.gz, .bcf) or .csv file, got {variants.name}",
        parameter="variants",
    )


def _settings(source: str | Path, output: str | Path, options: dict) -> AnnotateSettings:
    """The annotate run of the drop-in: Pangolin only, every record written."""
    from rnatools.pipelines.annotate import AnnotateSettings

    return AnnotateSettings(
        input=source,
        output=output,
        fasta=options["reference"],
        annotation=options["annotation"],
        max_distance=options["distance"],
        mask=options["mask"],
        models=("pangolin",),
        weights=options["weights"],
        device=options["device"],
        threads=options["threads"],
        batch_size=options["batch_size"],
    )


def read_csv_variants(path: Path, columns: list[str]) -> tuple[list[list[str]], list[tuple]]:
    """The CSV's rows (header first) and ``(chrom, pos1, REF, ALT)`` of each data row (REF and
    ALT upper-cased, as Pangolin does).

    Raises:
        InputError: an empty file, or a row without the columns or an integer POS.
        UsageError: (``column_ids``) not 4 names, or names missing from the header.
    """
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise InputError("the CSV file is empty (a header line is needed)", path)
    header = rows[0]
    missing = [name for name in columns if name not in header]
    if len(columns) != 4 or missing:
        raise UsageError(
            f"-c needs 4 column names of the CSV header ({','.join(header)}); "
            f"not found: {','.join(missing) or '(need exactly 4)'}",
            parameter="column_ids",
        )
    at = [header.index(name) for name in columns]
    variants = []
    for number, row in enumerate(rows[1:], start=2):
        try:
            chrom, pos, ref, alt = (row[i].strip() for i in at)
            variants.append((chrom, int(pos), ref.upper(), alt.upper()))
        except (IndexError, ValueError) as exc:
            raise InputError(
                f"row without a CHROM, an integer POS, REF and ALT ({exc})", path, number
            ) from exc
    return rows, variants


def score_csv(path: Path, output: Path, columns: list[str], options: dict) -> None:
    """Score a CSV through the annotate pipeline (a temporary VCF, one record per row, ID = row
    number) and write its rows plus a ``Pangolin`` column to ``output`` (atomically)."""
    from rnatools.cli.annotate import annotate_and_report
    from rnatools.io.atomic import atomic_output
    from rnatools.io.vcf import MalformedRecord, iter_records, open_vcf

    rows, variants = read_csv_variants(path, columns)
    scores: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="rnatools-pangolin-") as folder:
        source, scored = Path(folder) / "in.vcf", Path(folder) / "out.vcf"
        contigs = dict.fromkeys(chrom for chrom, *_ in variants)
        with open(source, "w") as handle:
            handle.write("##fileformat=VCFv4.2\n")
            handle.writelines(f"##contig=<ID={chrom}>\n" for chrom in contigs)
            handle.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
            for number, (chrom, pos1, ref, alt) in enumerate(variants, start=2):
                handle.write(f"{chrom}\t{pos1}\t{number}\t{ref}\t{alt}\t.\t.\t.\n")
        annotate_and_report(_settings(source, scored, options))
        vcf = open_vcf(scored)
        try:
            for record in iter_records(vcf, scored):
                if not isinstance(record, MalformedRecord):
                    scores[str(record.id)] = ",".join(record.info.get(PANGOLIN_KEY) or ())
        finally:
            vcf.close()
    with atomic_output(output) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*rows[0], PANGOLIN_KEY])
        for number, row in enumerate(rows[1:], start=2):
            writer.writerow([*row, scores.get(str(number), "")])


def register(app: typer.Typer) -> None:
    """Add the drop-in ``pangolin`` command to ``app``."""

    @app.command("pangolin", help=_HELP)
    def pangolin(
        variants: Annotated[Path, typer.Argument(help="VCF or CSV file with a header.")],
        reference: Annotated[Path, typer.Argument(help="Reference FASTA (plain or bgzip).")],
        annotation: Annotated[Path, typer.Argument(help="GTF/GFF3 of the genes (gzip ok).")],
        prefix: Annotated[str, typer.Argument(help="Output prefix: PREFIX.vcf or PREFIX.csv.")],
        column_ids: Annotated[
            str,
            typer.Option("-c", "--column_ids", help="CSV input: columns of CHROM, POS, REF, ALT."),
        ] = "CHROM,POS,REF,ALT",
        mask: Annotated[
            str,
            typer.Option(
                "-m",
                "--mask",
                help="True: gains at annotated splice sites and losses elsewhere are set to 0.",
            ),
        ] = "True",
        distance: Annotated[
            int, typer.Option("-d", "--distance", min=0, max=4999, help="Scored nt each side.")
        ] = 50,
        weights: WeightsOption = None,
        device: DeviceOption = "auto",
        threads: ThreadsOption = 0,
        batch_size: BatchSizeOption = 32,
    ) -> None:
        if mask not in ("True", "False"):
            raise UsageError(f"expected True or False, got {mask!r}", parameter="mask")
        kind, output = output_path(variants, prefix)
        if not variants.is_file():
            raise InputError("variant file not found", variants)
        check_annotation(annotation)
        options = {
            "reference": reference,
            "annotation": annotation,
            "distance": distance,
            "mask": mask == "True",
            "weights": weights,
            "device": device,
            "threads": threads,
            "batch_size": batch_size,
        }
        if kind == "vcf":
            from rnatools.cli.annotate import annotate_and_report

            annotate_and_report(_settings(variants, output, options))
        else:
            score_csv(variants, output, column_ids.split(","), options)

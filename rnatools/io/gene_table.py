"""SpliceAI gene annotation tables (``-A grch37 | grch38 | PATH``).

The format is the one SpliceAI 1.3.1 ships under ``spliceai/annotations/`` (see
``docs/spliceai-scoring.md``): tab-separated, header
``#NAME CHROM STRAND TX_START TX_END EXON_START EXON_END``, one row per gene. ``TX_START`` and
every ``EXON_START`` are 0-based; ``TX_END`` and every ``EXON_END`` are 1-based inclusive (which
is the same number as a 0-based exclusive end). Exon lists are comma-separated, a trailing comma
allowed. Internally every row is kept 0-based half-open: ``tx_start0``/``tx_end0`` and exons
``(start0, end0)``.

A table can also be built from a GTF/GFF3 file: one row per gene, from the transcript chosen by
:func:`rnatools.io.gtf.canonical_transcript`.
"""

from __future__ import annotations

import gzip
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rnatools.errors import InputError, MissingWeightsError
from rnatools.genome import ContigMap
from rnatools.io.atomic import atomic_output

if TYPE_CHECKING:  # pragma: no cover
    from rnatools.io.gtf import Gene, Transcript

HEADER = ("#NAME", "CHROM", "STRAND", "TX_START", "TX_END", "EXON_START", "EXON_END")
BUILTIN_TABLES = ("grch37", "grch38")
_GTF_SUFFIXES = (".gtf", ".gff", ".gff3")


@dataclass(frozen=True, slots=True)
class GeneRow:
    """One gene of an annotation table, 0-based half-open.

    Attributes:
        name: gene symbol written into the SpliceAI INFO entries.
        chrom: contig as spelled in the table.
        strand: ``+`` or ``-``.
        tx_start0, tx_end0: transcript bounds ``[tx_start0, tx_end0)``.
        exon_starts0, exon_ends0: exon bounds, one pair per exon, in table order.
        gene_id: the annotation's gene id (GTF/GFF3 ``gene_id``); empty for SpliceAI tables.
        transcript_id: the transcript the row was built from (GTF/GFF3); empty for tables.
        tags: the transcript's tags (``MANE_Select``, ``Ensembl_canonical``, ``basic``, ...).
        site_exons0: ``(start0, end0)`` of the exons of *every* transcript of the gene (GTF/GFF3;
            Pangolin's masking uses all annotated exon ends); empty = only this row's exons.
    """

    name: str
    chrom: str
    strand: str
    tx_start0: int
    tx_end0: int
    exon_starts0: tuple[int, ...]
    exon_ends0: tuple[int, ...]
    # Metadata of GTF/GFF3 rows; equality (and the SpliceAI table format) ignores them.
    gene_id: str = field(default="", compare=False)
    transcript_id: str = field(default="", compare=False)
    tags: frozenset[str] = field(default=frozenset(), compare=False)
    site_exons0: tuple[tuple[int, int], ...] = field(default=(), compare=False)

    def contains(self, pos1: int) -> bool:
        """Whether 1-based ``pos1`` lies in the transcript (``TX_START + 1 <= POS <= TX_END``)."""
        return self.tx_start0 < pos1 <= self.tx_end0

    def boundaries1(self) -> np.ndarray:
        """Sorted unique 1-based exon boundaries: exon starts + 1 and exon ends (SpliceAI's rule;
        acceptor and donor sides are not told apart, and transcript ends are included)."""
        return np.union1d(
            np.asarray(self.exon_starts0, dtype=np.int64) + 1,
            np.asarray(self.exon_ends0, dtype=np.int64),
        )

    def nearest_boundary(self, pos1: int) -> int:
        """Signed distance (nt) from ``pos1`` to the nearest exon boundary.

        Ties go to the upstream boundary (the first in sorted order), as in SpliceAI 1.3.1.
        """
        distances = self.boundaries1() - pos1
        return int(distances[int(np.argmin(np.abs(distances)))])


class GeneTable:
    """Annotation rows with an overlap query by contig and 1-based position.

    Args:
        rows: genes in annotation order (the order of the INFO entries).
        source: where the rows came from (for messages).
    """

    def __init__(self, rows: Iterable[GeneRow], source: str = "<table>"):
        self.rows = list(rows)
        self.source = source
        by_chrom: dict[str, list[int]] = {}
        for index, row in enumerate(self.rows):
            by_chrom.setdefault(row.chrom, []).append(index)
        self._index = {
            chrom: (
                np.asarray(indices, dtype=np.int64),
                np.asarray([self.rows[i].tx_start0 for i in indices], dtype=np.int64),
                np.asarray([self.rows[i].tx_end0 for i in indices], dtype=np.int64),
            )
            for chrom, indices in by_chrom.items()
        }
        self.contigs = ContigMap(self._index, source)

    def __len__(self) -> int:
        return len(self.rows)

    def has_contig(self, chrom: str) -> bool:
        """Whether the table holds genes on ``chrom`` (chr prefix and M/MT rule applied)."""
        return chrom in self.contigs

    def overlapping(self, chrom: str, pos1: int) -> list[GeneRow]:
        """Genes with ``TX_START + 1 <= pos1 <= TX_END`` on ``chrom``, in annotation order."""
        name = self.contigs.get(chrom)
        if name is None:
            return []
        indices, starts0, ends0 = self._index[name]
        hits = indices[(starts0 < pos1) & (pos1 <= ends0)]
        return [self.rows[i] for i in hits]


def _parse_positions(text: str, path: Path, line: int, column: str) -> tuple[int, ...]:
    try:
        return tuple(int(value) for value in text.split(",") if value.strip())
    except ValueError as exc:
        raise InputError(
            f"column {column} must be comma-separated integers, got {text[:40]!r}", path, line
        ) from exc


def read_gene_table(path: str | Path) -> GeneTable:
    """Read a table in SpliceAI's annotation format (plain or gzip).

    Raises:
        InputError: missing file, wrong header, wrong column count, non-integer coordinates,
            a strand other than ``+``/``-``, or exon lists of different lengths.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("annotation table not found", path)
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    rows: list[GeneRow] = []
    try:
        with opener(path, "rt") as handle:
            header = handle.readline().rstrip("\r\n").split("\t")
            if tuple(column.strip() for column in header) != HEADER:
                found = " ".join(header)[:80]
                raise InputError(
                    f"expected the SpliceAI annotation header {' '.join(HEADER)!r} "
                    f"(tab-separated), got {found!r}",
                    path,
                    1,
                )
            for line_number, line in enumerate(handle, start=2):
                line = line.rstrip("\r\n")
                if not line or line.startswith("#"):
                    continue
                fields = line.split("\t")
                if len(fields) != len(HEADER):
                    raise InputError(
                        f"expected {len(HEADER)} tab-separated columns, got {len(fields)}",
                        path,
                        line_number,
                    )
                name, chrom, strand, tx_start, tx_end, exon_starts, exon_ends = fields
                if strand not in ("+", "-"):
                    raise InputError(f"STRAND must be + or -, got {strand!r}", path, line_number)
                try:
                    tx_start0, tx_end0 = int(tx_start), int(tx_end)
                except ValueError as exc:
                    raise InputError(
                        "TX_START and TX_END must be integers", path, line_number
                    ) from exc
                starts0 = _parse_positions(exon_starts, path, line_number, "EXON_START")
                ends0 = _parse_positions(exon_ends, path, line_number, "EXON_END")
                if len(starts0) != len(ends0) or not starts0:
                    raise InputError(
                        "EXON_START and EXON_END must list the same, non-zero number of exons",
                        path,
                        line_number,
                    )
                rows.append(GeneRow(name, chrom, strand, tx_start0, tx_end0, starts0, ends0))
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"cannot read annotation table ({exc})", path) from exc
    return GeneTable(rows, str(path))


def builtin_table_path(name: str) -> Path:
    """Path of SpliceAI's packaged ``grch37``/``grch38`` table inside the installed distribution.

    Raises:
        MissingWeightsError: the ``spliceai`` package is not installed.
    """
    try:
        distribution = importlib.metadata.distribution("spliceai")
    except importlib.metadata.PackageNotFoundError as exc:
        raise MissingWeightsError(
            f"-a {name} needs the tables of the spliceai package: "
            "pip install 'rnatools[spliceai]' (or give a table / GTF path)"
        ) from exc
    path = Path(str(distribution.locate_file(f"spliceai/annotations/{name}.txt")))
    if not path.is_file():
        raise MissingWeightsError(f"the installed spliceai package has no {path}")
    return path


def is_gene_model_file(path: Path) -> bool:
    """Whether ``path`` names a GTF/GFF3 file (by extension, ``.gz`` allowed)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return name.endswith(_GTF_SUFFIXES)


def rows_from_gene_models(path: str | Path) -> list[GeneRow]:
    """One row per gene of a GTF/GFF3 file, from its canonical transcript.

    The rule choosing the transcript is :func:`rnatools.io.gtf.canonical_transcript`. The gene
    name is ``gene_name`` (``gene_id`` when empty). Genes keep the file's order.

    Raises:
        InputError: the file cannot be parsed (from :func:`rnatools.io.gtf.read_genes`).
    """
    from rnatools.io.gtf import canonical_transcript, read_genes

    rows = []
    for gene in read_genes(path):
        if gene.transcripts:
            rows.append(row_from_transcript(gene, canonical_transcript(gene)))
    return rows


def row_from_transcript(gene: Gene, transcript: Transcript, extra_tags: frozenset = frozenset()):
    """The :class:`GeneRow` of ``transcript`` of ``gene`` (read from a GTF/GFF3).

    The name is ``gene_name`` (``gene_id`` when empty); the exons are the transcript's (its span
    when it lists none); ``site_exons0`` holds the exons of every transcript of the gene.
    """
    exons = sorted(transcript.exons) or [(transcript.start, transcript.end)]
    return GeneRow(
        name=gene.gene_name or gene.gene_id,
        chrom=transcript.chrom,
        strand=transcript.strand,
        tx_start0=transcript.start,
        tx_end0=transcript.end,
        exon_starts0=tuple(start0 for start0, _ in exons),
        exon_ends0=tuple(end0 for _, end0 in exons),
        gene_id=gene.gene_id,
        transcript_id=transcript.transcript_id,
        tags=frozenset(transcript.tags | extra_tags),
        site_exons0=tuple(sorted({exon for other in gene.transcripts for exon in other.exons})),
    )


def load_gene_table(spec: str | Path) -> GeneTable:
    """The annotation named by ``-a``: ``grch37``/``grch38``, a table path, or a GTF/GFF3 path.

    Raises:
        MissingWeightsError: a built-in name without the ``spliceai`` package installed.
        InputError: a missing or malformed file.
    """
    text = str(spec)
    if text.lower() in BUILTIN_TABLES:
        return read_gene_table(builtin_table_path(text.lower()))
    path = Path(text)
    if not path.is_file():
        raise InputError(
            "annotation not found (expected grch37, grch38, a SpliceAI table or a GTF/GFF3)", path
        )
    if is_gene_model_file(path):
        return GeneTable(rows_from_gene_models(path), str(path))
    return read_gene_table(path)


def format_row(row: GeneRow) -> str:
    """One table line (no newline) in SpliceAI's format, trailing commas included."""
    starts = "".join(f"{start0}," for start0 in row.exon_starts0)
    ends = "".join(f"{end0}," for end0 in row.exon_ends0)
    return "\t".join(
        (row.name, row.chrom, row.strand, str(row.tx_start0), str(row.tx_end0), starts, ends)
    )


def write_gene_table(rows: Iterable[GeneRow], path: str | Path) -> int:
    """Write rows atomically (``-`` = stdout; ``.gz`` compresses). Returns the number of rows."""
    count = 0
    with atomic_output(path) as handle:
        handle.write("\t".join(HEADER) + "\n")
        for row in rows:
            handle.write(format_row(row) + "\n")
            count += 1
    return count


__all__ = [
    "BUILTIN_TABLES",
    "HEADER",
    "GeneRow",
    "GeneTable",
    "builtin_table_path",
    "format_row",
    "is_gene_model_file",
    "load_gene_table",
    "read_gene_table",
    "rows_from_gene_models",
    "write_gene_table",
]

"""Genes, transcripts and exons from GTF (GENCODE, Ensembl) and GFF3 (RefSeq/MANE, Ensembl).

Both formats are 1-based inclusive; each record is converted once, where it is read, to 0-based
half-open (``start0 = int(column4) - 1``, ``end = int(column5)``). Files may be gzip-compressed
and are streamed line by line (no pandas), so a whole-genome annotation is read in one pass.

GTF: ``gene``, ``transcript`` and ``exon`` lines are used, linked by ``gene_id`` and
``transcript_id``; missing ``gene``/``transcript`` lines are reconstructed from the exons.

GFF3: ``exon`` lines point with ``Parent`` to their transcript (``mRNA``, ``transcript``,
``ncRNA``, ``lnc_RNA``, ... any type), which points with ``Parent`` to its gene. Exons whose
parent is a gene directly make that gene its own single transcript.

Tags: GTF ``tag`` attributes (repeated) and GFF3 ``tag=`` (comma separated) are collected; spaces
become underscores, so RefSeq's ``MANE Select`` reads as ``MANE_Select``.

Biotype: ``transcript_biotype``, ``transcript_type`` or ``biotype``; for a GFF3 ``mRNA`` without
one, ``protein_coding``; for other GFF3 types without one, the feature type (``lnc_RNA``, ...).
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from rnatools.errors import InputError

log = logging.getLogger("rnatools.io.gtf")

AnnotationFormat = Literal["gtf", "gff3"]


@dataclass(frozen=True)
class Transcript:
    """One transcript; coordinates 0-based half-open on the forward strand of ``chrom``.

    Attributes:
        transcript_id, gene_id, gene_name: identifiers as in the file (GFF3: ``transcript_id``
            attribute, else ``ID``).
        chrom: contig name as spelled in the annotation.
        strand: ``'+'`` or ``'-'``.
        start, end: transcript bounds (from the transcript record, else the exons' span).
        exons: ``(start, end)`` pairs, sorted by genomic start (empty when the file lists none).
        tags: e.g. ``Ensembl_canonical``, ``MANE_Select``, ``basic``, ``CCDS``.
        biotype: transcript biotype (``protein_coding``, ``lncRNA``, ...) or None.
    """

    transcript_id: str
    gene_id: str
    gene_name: str
    chrom: str
    strand: str
    start: int
    end: int
    exons: tuple[tuple[int, int], ...]
    tags: frozenset[str]
    biotype: str | None

    @property
    def exon_length(self) -> int:
        """Sum of exon lengths in nt."""
        return sum(end - start for start, end in self.exons)

    @property
    def introns(self) -> tuple[tuple[int, int], ...]:
        """``(start, end)`` of the gaps between consecutive exons, 0-based half-open."""
        return tuple(
            (left_end, right_start)
            for (_, left_end), (right_start, _) in zip(self.exons, self.exons[1:], strict=False)
            if right_start > left_end
        )


@dataclass
class Gene:
    """A gene with its transcripts (in file order); coordinates 0-based half-open."""

    gene_id: str
    gene_name: str
    chrom: str
    strand: str
    start: int
    end: int
    transcripts: list[Transcript] = field(default_factory=list)


def canonical_transcript(gene: Gene) -> Transcript:
    """The one transcript rnatools uses for a gene.

    Rule (the first criterion that differs decides):

    1. tagged ``MANE_Select``;
    2. tagged ``Ensembl_canonical``;
    3. tagged ``basic`` and of biotype ``protein_coding``;
    4. longest total exon length (nt);
    5. lowest ``transcript_id`` (string order), so the choice is deterministic.

    Raises:
        InputError: the gene has no transcripts.
    """
    if not gene.transcripts:
        raise InputError(f"gene {gene.gene_name} ({gene.gene_id}) has no transcripts")
    return min(gene.transcripts, key=_canonical_key)


def _canonical_key(transcript: Transcript) -> tuple[bool, bool, bool, int, str]:
    tags = transcript.tags
    return (
        "MANE_Select" not in tags,
        "Ensembl_canonical" not in tags,
        not ("basic" in tags and transcript.biotype == "protein_coding"),
        -transcript.exon_length,
        transcript.transcript_id,
    )


# -- reading ------------------------------------------------------------------------------------

_GFF3_SKIPPED_TYPES = frozenset(
    {
        "CDS",
        "five_prime_UTR",
        "three_prime_UTR",
        "UTR",
        "start_codon",
        "stop_codon",
        "region",
        "chromosome",
        "biological_region",
        "cDNA_match",
        "match",
        "match_part",
        "Selenocysteine",
    }
)


@dataclass
class _TranscriptBuilder:
    transcript_id: str
    gene_key: tuple[str, str]
    chrom: str
    strand: str
    line: int
    start: int | None = None
    end: int | None = None
    exons: list[tuple[int, int]] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    biotype: str | None = None
    gene_name: str | None = None


@dataclass
class _GeneBuilder:
    gene_id: str
    chrom: str
    strand: str
    start: int | None = None
    end: int | None = None
    gene_name: str | None = None
    transcript_keys: list[tuple[str, str]] = field(default_factory=list)


def _open_text(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def detect_format(path: str | Path) -> AnnotationFormat:
    """``gtf`` or ``gff3`` from the file name, else from the first records.

    Raises:
        InputError: the format cannot be told.
    """
    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".gtf"):
        return "gtf"
    if name.endswith((".gff3", ".gff")):
        return "gff3"
    with _open_text(path) as handle:
        for number, line in enumerate(handle):
            if line.startswith("##gff-version 3"):
                return "gff3"
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 9:
                attributes = fields[8]
                if 'gene_id "' in attributes or 'transcript_id "' in attributes:
                    return "gtf"
                if "=" in attributes:
                    return "gff3"
            if number > 1000:
                break
    raise InputError("cannot tell GTF from GFF3; name the file .gtf or .gff3", path)


def _gtf_attributes(text: str) -> dict[str, str | list[str]]:
    """``key "value";`` pairs; repeated ``tag`` keys are collected into a list."""
    attributes: dict[str, str | list[str]] = {}
    tags: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, _, value = part.partition(" ")
        value = value.strip().strip('"')
        if key == "tag":
            tags.append(value)
        else:
            attributes.setdefault(key, value)
    attributes["tag"] = tags
    return attributes


def _quoted_value(text: str, key: str) -> str | None:
    """The value of ``key "value"`` in a GTF attribute column, without parsing the rest."""
    needle = f'{key} "'
    index = text.find(needle)
    while index > 0 and text[index - 1] not in " ;":  # e.g. a longer key ending in key
        index = text.find(needle, index + 1)
    if index < 0:
        return None
    begin = index + len(needle)
    end = text.find('"', begin)
    return text[begin:end] if end >= 0 else None


def _gff3_attributes(text: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            attributes[key] = unquote(value) if "%" in value else value
    return attributes


def _normalise_tag(tag: str) -> str:
    return tag.strip().replace(" ", "_")


def _coordinates(fields: list[str], path: Path, line_number: int) -> tuple[int, int]:
    try:
        start0 = int(fields[3]) - 1  # 1-based inclusive → 0-based half-open, once
        end = int(fields[4])
    except ValueError:
        raise InputError(
            f"expected integer start and end in columns 4-5, got {fields[3]!r} and {fields[4]!r}",
            path,
            line_number,
        ) from None
    if start0 < 0 or end < start0 + 1:
        raise InputError(
            f"expected 1 <= start <= end (1-based inclusive), got {fields[3]} and {fields[4]}",
            path,
            line_number,
        )
    return start0, end


def _split_line(line: str, path: Path, line_number: int) -> list[str] | None:
    if line.startswith("#") or not line.strip():
        return None
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) < 9:
        raise InputError(f"expected 9 tab-separated columns, got {len(fields)}", path, line_number)
    return fields


def _read_gtf(path: Path) -> tuple[dict, dict]:
    genes: dict[tuple[str, str], _GeneBuilder] = {}
    transcripts: dict[tuple[str, str], _TranscriptBuilder] = {}
    with _open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = _split_line(line, path, line_number)
            if fields is None:
                continue
            feature = fields[2]
            if feature not in ("gene", "transcript", "exon"):
                continue
            chrom, strand = fields[0], fields[6]
            start0, end = _coordinates(fields, path, line_number)
            if feature == "exon":
                # Fast path: most lines are exons of a transcript already seen.
                known = transcripts.get((_quoted_value(fields[8], "transcript_id"), chrom))
                if known is not None:
                    known.exons.append((start0, end))
                    continue
            attributes = _gtf_attributes(fields[8])
            gene_id = attributes.get("gene_id")
            if not gene_id:
                raise InputError(
                    f"expected a gene_id attribute on the {feature} line", path, line_number
                )
            gene_key = (str(gene_id), chrom)
            gene = genes.get(gene_key)
            if gene is None:
                gene = genes[gene_key] = _GeneBuilder(str(gene_id), chrom, strand)
            if gene.gene_name is None and attributes.get("gene_name"):
                gene.gene_name = str(attributes["gene_name"])
            if feature == "gene":
                gene.start, gene.end = start0, end
                continue
            transcript_id = attributes.get("transcript_id")
            if not transcript_id:
                raise InputError(
                    f"expected a transcript_id attribute on the {feature} line", path, line_number
                )
            key = (str(transcript_id), chrom)
            transcript = transcripts.get(key)
            if transcript is None:
                transcript = transcripts[key] = _TranscriptBuilder(
                    str(transcript_id), gene_key, chrom, strand, line_number
                )
                gene.transcript_keys.append(key)
                biotype = attributes.get("transcript_biotype") or attributes.get("transcript_type")
                transcript.biotype = str(biotype) if biotype else None
            transcript.tags.update(_normalise_tag(tag) for tag in attributes["tag"])
            if feature == "transcript":
                transcript.start, transcript.end = start0, end
            else:
                transcript.exons.append((start0, end))
    return genes, transcripts


def _read_gff3(path: Path) -> tuple[dict, dict]:
    features: dict[str, tuple[str, str, str, int, int, dict[str, str], int]] = {}
    exons_by_parent: dict[str, list[tuple[int, int]]] = {}
    exon_lines: dict[str, int] = {}
    with _open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            if line.startswith("##FASTA"):
                break
            fields = _split_line(line, path, line_number)
            if fields is None:
                continue
            feature = fields[2]
            if feature in _GFF3_SKIPPED_TYPES:
                continue
            start0, end = _coordinates(fields, path, line_number)
            attributes = _gff3_attributes(fields[8])
            if feature == "exon":
                parents = attributes.get("Parent")
                if not parents:
                    raise InputError(
                        "expected a Parent attribute on the exon line", path, line_number
                    )
                for parent in parents.split(","):
                    exons_by_parent.setdefault(parent, []).append((start0, end))
                    exon_lines.setdefault(parent, line_number)
                continue
            feature_id = attributes.get("ID")
            if feature_id and feature_id not in features:
                features[feature_id] = (
                    feature,
                    fields[0],
                    fields[6],
                    start0,
                    end,
                    attributes,
                    line_number,
                )

    def is_gene(feature_type: str) -> bool:
        return feature_type.endswith("gene") and feature_type != "exon"

    transcript_ids: dict[str, None] = {}
    for feature_id, record in features.items():
        parent = record[5].get("Parent", "").split(",")[0]
        if not is_gene(record[0]) and parent in features and is_gene(features[parent][0]):
            transcript_ids[feature_id] = None
    missing = 0
    for parent in exons_by_parent:
        if parent in features:
            transcript_ids.setdefault(parent, None)
        else:
            missing += 1
            log.warning(
                "%s:%d: skipped exons whose Parent %r is not defined in the file",
                path,
                exon_lines[parent],
                parent,
            )
    # keep file order
    ordered = sorted(transcript_ids, key=lambda feature_id: features[feature_id][6])

    genes: dict[tuple[str, str], _GeneBuilder] = {}
    transcripts: dict[tuple[str, str], _TranscriptBuilder] = {}
    for feature_id in ordered:
        feature, chrom, strand, start0, end, attributes, line_number = features[feature_id]
        if is_gene(feature):  # exons directly under a gene: the gene is its own transcript
            gene_record = features[feature_id]
        else:
            parent = attributes.get("Parent", "").split(",")[0]
            gene_record = features.get(parent, features[feature_id])
        g_type, g_chrom, g_strand, g_start0, g_end, g_attributes, _ = gene_record
        gene_id = g_attributes.get("gene_id") or g_attributes.get("ID") or feature_id
        gene_key = (gene_id, g_chrom)
        gene = genes.get(gene_key)
        if gene is None:
            gene = genes[gene_key] = _GeneBuilder(gene_id, g_chrom, g_strand)
            if is_gene(g_type):
                gene.start, gene.end = g_start0, g_end
            gene.gene_name = (
                g_attributes.get("gene_name")
                or g_attributes.get("Name")
                or g_attributes.get("gene")
                or attributes.get("gene_name")
                or attributes.get("gene")
            )
        transcript_id = attributes.get("transcript_id") or feature_id
        key = (transcript_id, chrom)
        if key in transcripts:
            continue
        transcript = transcripts[key] = _TranscriptBuilder(
            transcript_id, gene_key, chrom, strand, line_number
        )
        gene.transcript_keys.append(key)
        if not is_gene(feature):
            transcript.start, transcript.end = start0, end
        tags = attributes.get("tag")
        if tags:
            transcript.tags.update(_normalise_tag(tag) for tag in tags.split(","))
        biotype = (
            attributes.get("transcript_biotype")
            or attributes.get("transcript_type")
            or attributes.get("biotype")
        )
        if not biotype and not is_gene(feature):
            biotype = "protein_coding" if feature == "mRNA" else feature
        transcript.biotype = biotype or None
        transcript.exons.extend(exons_by_parent.get(feature_id, ()))
    if missing:
        log.warning(
            "%s: %d exon Parent IDs were not defined; their exons were skipped", path, missing
        )
    return genes, transcripts


def read_genes(
    path: str | Path, fmt: AnnotationFormat | None = None, *, require_exons: bool = True
) -> list[Gene]:
    """Genes of a GTF or GFF3 file (gzip allowed), in the order they first appear.

    Args:
        path: annotation file.
        fmt: ``"gtf"`` or ``"gff3"``; None detects it (:func:`detect_format`).
        require_exons: raise when the file has no ``exon`` record at all (default). With False,
            a file of genes and transcripts only (e.g. a MANE summary GFF3) is read, and every
            transcript has ``exons == ()``.

    Returns:
        Genes with their transcripts; every coordinate 0-based half-open. Transcripts with a
        strand other than ``+``/``-`` are skipped with a warning.

    Raises:
        InputError: missing file, a malformed line (file:line and what was expected), or no
            ``exon`` record in the whole file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("annotation file not found", path)
    fmt = fmt or detect_format(path)
    if fmt not in ("gtf", "gff3"):
        raise InputError(f"unknown annotation format {fmt!r}; expected gtf or gff3", path)
    genes, transcripts = _read_gtf(path) if fmt == "gtf" else _read_gff3(path)
    if require_exons and not any(builder.exons for builder in transcripts.values()):
        raise InputError(
            f"no exon records found ({len(genes)} genes, {len(transcripts)} transcripts); "
            f"expected a {fmt.upper()} with 'exon' features",
            path,
        )

    result: list[Gene] = []
    unstranded = 0
    for gene_builder in genes.values():
        built: list[Transcript] = []
        for key in gene_builder.transcript_keys:
            builder = transcripts[key]
            if builder.strand not in ("+", "-"):
                unstranded += 1
                continue
            exons = tuple(sorted(builder.exons))
            start = (
                builder.start if builder.start is not None else min(s for s, _ in exons or [(0, 0)])
            )
            end = builder.end if builder.end is not None else max(e for _, e in exons or [(0, 0)])
            built.append(
                Transcript(
                    transcript_id=builder.transcript_id,
                    gene_id=gene_builder.gene_id,
                    gene_name=gene_builder.gene_name or gene_builder.gene_id,
                    chrom=builder.chrom,
                    strand=builder.strand,
                    start=start,
                    end=end,
                    exons=exons,
                    tags=frozenset(builder.tags),
                    biotype=builder.biotype,
                )
            )
        if not built:
            continue
        start = (
            gene_builder.start if gene_builder.start is not None else min(t.start for t in built)
        )
        end = gene_builder.end if gene_builder.end is not None else max(t.end for t in built)
        strand = gene_builder.strand if gene_builder.strand in ("+", "-") else built[0].strand
        result.append(
            Gene(
                gene_id=gene_builder.gene_id,
                gene_name=gene_builder.gene_name or gene_builder.gene_id,
                chrom=gene_builder.chrom,
                strand=strand,
                start=start,
                end=end,
                transcripts=built,
            )
        )
    if unstranded:
        log.warning("%s: skipped %d transcripts without '+'/'-' strand", path, unstranded)
    return result


def select_genes(
    genes: Sequence[Gene],
    names: Iterable[str] | None,
    *,
    order: Literal["annotation", "names"] = "annotation",
    path: str | Path | None = None,
) -> list[Gene]:
    """The genes named by ``names`` (the one gene selection of rnatools).

    A name selects the genes whose ``gene_name`` or ``gene_id`` is exactly that name; a name that
    selects none that way selects the genes whose ``gene_id`` without its ``.version`` suffix is
    that name (``ENSG00000227232`` for ``ENSG00000227232.5``). Blank names are ignored;
    ``names=None`` keeps every gene.

    Args:
        genes: as read by :func:`read_genes`.
        names: gene names or ids.
        order: ``"annotation"``: each selected gene once, in the annotation's order;
            ``"names"``: for each name in turn the genes it selects (annotation order), so a
            gene named twice comes twice.
        path: the annotation file, named by the error.

    Raises:
        InputError: a name selects no gene (all such names are listed).
    """
    if names is None:
        return list(genes)
    wanted = [name.strip() for name in names if name.strip()]
    exact: dict[str, list[Gene]] = {}
    unversioned: dict[str, list[Gene]] = {}
    for gene in genes:
        for key in {gene.gene_name, gene.gene_id}:
            exact.setdefault(key, []).append(gene)
        unversioned.setdefault(gene.gene_id.split(".")[0], []).append(gene)
    chosen = {name: exact.get(name) or unversioned.get(name, []) for name in wanted}
    missing = [name for name in wanted if not chosen[name]]
    if missing:
        raise InputError(f"gene(s) not found in the annotation: {', '.join(missing)}", path)
    if order == "names":
        return [gene for name in wanted for gene in chosen[name]]
    selected = {id(gene) for name in wanted for gene in chosen[name]}
    return [gene for gene in genes if id(gene) in selected]


__all__ = [
    "Gene",
    "Transcript",
    "canonical_transcript",
    "detect_format",
    "read_genes",
    "select_genes",
]

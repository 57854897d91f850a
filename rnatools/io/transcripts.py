"""Per-transcript annotation tables (``annotate --transcripts gene|canonical|mane|all``).

Delta scores are computed against annotation rows (:class:`~rnatools.io.gene_table.GeneRow`):
the window is N-padded outside the row's ``[tx_start0, tx_end0)`` and ``--mask`` uses the row's
exons. A SpliceAI table has one row per gene; from a GTF/GFF3 file this module builds one row
per *transcript*, so the same scorer gives per-transcript scores with SpliceAI's rules and the
transcript in place of the gene row (``docs/spliceai-scoring.md``, "Per-transcript scores"):

* ``gene``: the annotation as ``-a`` reads it (one row per gene; any annotation form);
* ``canonical``: each gene's canonical transcript
  (:func:`rnatools.io.gtf.canonical_transcript`);
* ``mane``: every transcript tagged ``MANE_Select`` or ``MANE_Plus_Clinical`` (genes without
  one get no row);
* ``all``: every transcript.

Rows keep the gene's name (``gene_name``, else ``gene_id``) as ``name`` and carry
``transcript_id``, ``gene_id``, the transcript's tags and ``site_exons0`` (the exons of every
transcript of the gene). The row of a gene's canonical transcript also carries the tag
:data:`CANONICAL_TAG`, which :func:`priority` reads. Coordinates are 0-based half-open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from rnatools.errors import UsageError
from rnatools.io.gene_table import (
    BUILTIN_TABLES,
    GeneRow,
    GeneTable,
    is_gene_model_file,
    load_gene_table,
    row_from_transcript,
)

TranscriptMode = Literal["gene", "canonical", "mane", "all"]
TRANSCRIPT_MODES: tuple[str, ...] = ("gene", "canonical", "mane", "all")

MANE_TAGS = ("MANE_Select", "MANE_Plus_Clinical")
CANONICAL_TAG = "rnatools_canonical"
"""Tag added to the row of the transcript :func:`rnatools.io.gtf.canonical_transcript` picks."""

PRIORITIES: tuple[str, ...] = ("MANE_Select", "MANE_Plus_Clinical", "canonical", "other")
"""The values of :func:`priority`, highest first."""


def priority(row: GeneRow) -> str:
    """The row's transcript class, the ``PRIORITY`` field of ``*_TX`` entries.

    ``MANE_Select`` or ``MANE_Plus_Clinical`` (by the transcript's tags), else ``canonical``
    (the gene's canonical transcript: tag :data:`CANONICAL_TAG`), else ``other``; the first that
    applies, in that order (:data:`PRIORITIES`).
    """
    for tag in MANE_TAGS:
        if tag in row.tags:
            return tag
    if CANONICAL_TAG in row.tags:
        return "canonical"
    return "other"


def transcript_table(annotation: str | Path, mode: TranscriptMode = "gene") -> GeneTable:
    """The annotation rows to score against for ``--transcripts mode``.

    Args:
        annotation: what ``-a`` names: ``grch37``/``grch38``, a SpliceAI table, or a GTF/GFF3
            file (gzip allowed).
        mode: ``gene``, ``canonical``, ``mane`` or ``all`` (module docstring).

    Returns:
        A :class:`GeneTable`, rows in annotation order: genes in file order and, within a gene,
        its transcripts in file order.

    Raises:
        UsageError: an unknown mode, or a mode other than ``gene`` with an annotation that is a
            table rather than a GTF/GFF3 file (parameter ``transcripts``).
        InputError: a missing or malformed annotation file.
        MissingWeightsError: ``grch37``/``grch38`` without the ``spliceai`` package (``gene``).
    """
    if mode not in TRANSCRIPT_MODES:
        raise UsageError(
            f"transcripts must be one of {', '.join(TRANSCRIPT_MODES)}, got {mode!r}",
            parameter="transcripts",
        )
    if mode == "gene":
        return load_gene_table(annotation)
    text = str(annotation)
    if text.lower() in BUILTIN_TABLES or not is_gene_model_file(Path(text)):
        raise UsageError(
            f"--transcripts {mode} needs a GTF/GFF3 annotation (-a); {text} is a SpliceAI "
            "table with one row per gene (use --transcripts gene)",
            parameter="transcripts",
        )
    return GeneTable(transcript_rows(annotation, mode), f"{text} ({mode} transcripts)")


def transcript_rows(path: str | Path, mode: TranscriptMode) -> list[GeneRow]:
    """The rows of :func:`transcript_table` for a GTF/GFF3 file and a mode other than ``gene``.

    Raises:
        UsageError: an unknown mode (parameter ``transcripts``).
        InputError: the file cannot be read or parsed.
    """
    from rnatools.io.gtf import canonical_transcript, read_genes

    if mode not in TRANSCRIPT_MODES[1:]:
        raise UsageError(
            f"transcripts must be one of {', '.join(TRANSCRIPT_MODES[1:])}, got {mode!r}",
            parameter="transcripts",
        )
    rows: list[GeneRow] = []
    for gene in read_genes(path):
        if not gene.transcripts:
            continue
        canonical = canonical_transcript(gene)
        if mode == "canonical":
            chosen = [canonical]
        elif mode == "mane":
            chosen = [t for t in gene.transcripts if any(tag in t.tags for tag in MANE_TAGS)]
        else:
            chosen = list(gene.transcripts)
        for transcript in chosen:
            extra = frozenset({CANONICAL_TAG}) if transcript is canonical else frozenset()
            rows.append(row_from_transcript(gene, transcript, extra))
    return rows


__all__ = [
    "CANONICAL_TAG",
    "MANE_TAGS",
    "PRIORITIES",
    "TRANSCRIPT_MODES",
    "TranscriptMode",
    "priority",
    "transcript_rows",
    "transcript_table",
]

"""Per-transcript annotation tables and scores (issue 12, ``--transcripts``).

The model checks run the real SpliceAI networks (installed ``spliceai`` package) on the BRCA1
example at -D 50 through the incremental SNV path: a transcript row scores exactly like a
SpliceAI table that holds that transcript alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rnatools.errors import UsageError
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import GeneRow, load_gene_table, write_gene_table
from rnatools.io.gtf import read_genes
from rnatools.io.transcripts import CANONICAL_TAG, priority, transcript_table
from rnatools.models.spliceai_weights import installed_weights
from rnatools.scoring.delta import DeltaOptions, DeltaScorer, Variant

ROOT = Path(__file__).resolve().parents[1]
BRCA1_GTF = ROOT / "examples" / "brca1" / "brca1.gtf"
BRCA1_FASTA = ROOT / "examples" / "brca1" / "GRCh38.chr17.brca1.fa.gz"
THREE = ROOT / "tests" / "data" / "transcripts" / "brca1_three_transcripts.gtf"
CANONICAL, PLUS_CLINICAL, SHORT = "ENST00000357654", "ENST00000468300", "ENST00000412061"

needs_spliceai = pytest.mark.skipif(
    installed_weights() is None,
    reason="needs the spliceai package (pip install 'rnatools[spliceai]')",
)


def _transcripts(path: Path) -> dict:
    (gene,) = read_genes(path)
    return {t.transcript_id: t for t in gene.transcripts}


def test_modes_choose_rows_with_their_own_bounds_and_exons():
    transcripts = _transcripts(THREE)
    canonical = transcript_table(THREE, "canonical").rows
    mane = transcript_table(THREE, "mane").rows
    every = transcript_table(THREE, "all").rows
    assert [r.transcript_id for r in canonical] == [CANONICAL]
    assert [r.transcript_id for r in mane] == [CANONICAL, PLUS_CLINICAL]
    assert [r.transcript_id for r in every] == [CANONICAL, PLUS_CLINICAL, SHORT]
    assert [priority(r) for r in every] == ["MANE_Select", "MANE_Plus_Clinical", "other"]
    union = tuple(sorted({e for t in transcripts.values() for e in t.exons}))
    for row in every:
        t = transcripts[row.transcript_id]
        assert (row.name, row.gene_id, row.chrom, row.strand) == (
            "BRCA1",
            "ENSG00000012048",
            "chr17",
            "-",
        )
        assert (row.tx_start0, row.tx_end0) == (t.start, t.end)
        assert list(zip(row.exon_starts0, row.exon_ends0, strict=True)) == list(t.exons)
        assert row.site_exons0 == union
        assert (CANONICAL_TAG in row.tags) == (row.transcript_id == CANONICAL)
    assert (every[2].tx_start0, every[2].tx_end0) == (43_093_569, 43_095_866)


def test_canonical_priority_and_all_mode_on_the_example_gtf():
    canonical = transcript_table(BRCA1_GTF, "canonical").rows
    every = transcript_table(BRCA1_GTF, "all").rows
    assert [r.transcript_id for r in canonical] == [CANONICAL]  # no MANE tag: longest exons
    assert priority(canonical[0]) == "canonical"
    assert len(every) == 31
    assert [priority(r) for r in every].count("canonical") == 1
    assert {priority(r) for r in every} == {"canonical", "other"}
    assert transcript_table(BRCA1_GTF, "mane").rows == []
    # the default mode is the -a table: one row per gene, equal to the canonical transcript
    (gene_row,) = transcript_table(BRCA1_GTF, "gene").rows
    assert gene_row == canonical[0] and gene_row.transcript_id == CANONICAL
    assert priority(GeneRow("G", "1", "+", 0, 10, (0,), (10,))) == "other"


def test_modes_other_than_gene_need_a_gtf(tmp_path):
    table = tmp_path / "one.txt"
    write_gene_table(transcript_table(THREE, "canonical").rows, table)
    assert transcript_table(table, "gene").rows == load_gene_table(table).rows
    for annotation in (table, "grch38", "GRCh37"):
        with pytest.raises(UsageError, match="needs a GTF/GFF3") as error:
            transcript_table(annotation, "mane")
        assert error.value.parameter == "transcripts"
    with pytest.raises(UsageError) as error:
        transcript_table(THREE, "longest")  # type: ignore[arg-type]
    assert error.value.parameter == "transcripts"


# ---------------------------------------------------------------------------------------------
# Scores: a transcript row scores like a table holding that transcript alone (real SpliceAI)


@pytest.fixture(scope="module")
def spliceai():
    if installed_weights() is None:
        pytest.skip("needs the spliceai package (pip install 'rnatools[spliceai]')")
    from rnatools.models.spliceai import SpliceAIModel

    return SpliceAIModel(weight_files=installed_weights())


def _snvs(fasta: Fasta) -> list[Variant]:
    """Three SNVs within 1.2 kb at exon boundaries of the three transcripts (0-based
    43,094,743: first base of ENST00000468300's exon, mid-exon in the canonical one;
    43,094,859: last base of a shared exon end; 43,095,845: first base of the next exon)."""
    variants = []
    for pos0 in (43_094_743, 43_094_859, 43_095_845):
        base = fasta.fetch("chr17", pos0, pos0 + 1)
        variants.append(Variant("chr17", pos0 + 1, base, ("A" if base != "A" else "G",)))
    return variants


def _alone(tmp_path: Path, gtf: Path, transcript_id: str):
    """A SpliceAI-format table file holding one transcript, built from the GTF's own record
    (not through transcript_table), read back with load_gene_table."""
    t = _transcripts(gtf)[transcript_id]
    row = GeneRow(
        "BRCA1",
        t.chrom,
        t.strand,
        t.start,
        t.end,
        tuple(s for s, _ in t.exons),
        tuple(e for _, e in t.exons),
    )
    path = tmp_path / f"{transcript_id}.txt"
    write_gene_table([row], path)
    return load_gene_table(path)


def _without_transcript(entry: str) -> str:
    fields = entry.split("|")
    return "|".join(fields[:2] + fields[4:])


@pytest.mark.slow
@pytest.mark.weights
@needs_spliceai
def test_canonical_entries_equal_a_table_of_that_transcript_alone(spliceai, tmp_path):
    options = DeltaOptions(50, mask=True)
    with Fasta(BRCA1_FASTA) as fasta:
        variants = _snvs(fasta)
        per_transcript = DeltaScorer(
            spliceai,
            fasta,
            transcript_table(BRCA1_GTF, "canonical"),
            options,
            entry_format="transcript",
        ).annotate(variants)
        alone = DeltaScorer(
            spliceai, fasta, _alone(tmp_path, BRCA1_GTF, CANONICAL), options
        ).annotate(variants)
    for tx, gene in zip(per_transcript, alone, strict=True):
        (tx_entry,) = tx.entries
        (gene_entry,) = gene.entries
        assert tx_entry.split("|")[2:4] == [CANONICAL, "canonical"]
        assert _without_transcript(tx_entry) == gene_entry
    # the variant sites are real splice sites: something changes
    assert max(float(v) for r in alone for v in r.entries[0].split("|")[2:6]) >= 0.2


@pytest.mark.slow
@pytest.mark.weights
@needs_spliceai
def test_all_mode_entries_equal_one_transcript_tables(spliceai, tmp_path):
    options = DeltaOptions(50, mask=True)
    chosen = (PLUS_CLINICAL, SHORT)
    with Fasta(BRCA1_FASTA) as fasta:
        variants = _snvs(fasta)
        every = DeltaScorer(
            spliceai, fasta, transcript_table(THREE, "all"), options, entry_format="transcript"
        ).annotate(variants)
        alone = {
            transcript_id: DeltaScorer(
                spliceai, fasta, _alone(tmp_path, THREE, transcript_id), options
            ).annotate(variants)
            for transcript_id in chosen
        }
    for index, result in enumerate(every):
        assert [e.split("|")[2] for e in result.entries] == [CANONICAL, PLUS_CLINICAL, SHORT]
        by_transcript = {e.split("|")[2]: e for e in result.entries}
        assert by_transcript[PLUS_CLINICAL].split("|")[3] == "MANE_Plus_Clinical"
        for transcript_id in chosen:
            (expected,) = alone[transcript_id][index].entries
            assert _without_transcript(by_transcript[transcript_id]) == expected
    # the transcripts' own bounds and exons matter: the rows disagree somewhere
    disagreeing = [r for r in every if len({_without_transcript(e) for e in r.entries}) > 1]
    assert disagreeing

"""SpliceAI annotation tables: reading, overlap queries, contig names, GTF/GFF3 → table."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.errors import InputError
from rnatools.io.gene_table import (
    GeneRow,
    GeneTable,
    format_row,
    load_gene_table,
    read_gene_table,
    rows_from_gene_models,
    write_gene_table,
)
from rnatools.models.spliceai_weights import installed_weights

needs_spliceai = pytest.mark.skipif(
    installed_weights() is None,
    reason="needs the spliceai package (pip install 'rnatools[spliceai]')",
)

TABLE = (
    "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
    "A1\t21\t+\t100\t500\t100,300,\t200,500,\n"
    "B2\t21\t-\t400\t900\t400,\t900,\n"
    "M1\tMT\t+\t0\t50\t0,\t50\n"
)


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "annot.txt"
    path.write_text(TABLE)
    return read_gene_table(path)


def test_rows_are_zero_based_half_open(table):
    a1 = table.rows[0]
    assert (a1.tx_start0, a1.tx_end0, a1.exon_starts0, a1.exon_ends0) == (
        100,
        500,
        (100, 300),
        (200, 500),
    )
    assert table.rows[2].exon_ends0 == (50,)  # no trailing comma is fine too


def test_overlap_uses_tx_start_plus_one_to_tx_end(table):
    assert [g.name for g in table.overlapping("21", 100)] == []  # TX_START is 0-based
    assert [g.name for g in table.overlapping("21", 101)] == ["A1"]
    assert [g.name for g in table.overlapping("chr21", 450)] == ["A1", "B2"]  # annotation order
    assert [g.name for g in table.overlapping("21", 500)] == ["A1", "B2"]  # TX_END inclusive
    assert [g.name for g in table.overlapping("21", 901)] == []
    assert [g.name for g in table.overlapping("chrM", 10)] == ["M1"]  # M/MT rule
    assert table.overlapping("22", 450) == []
    assert table.has_contig("chr21") and not table.has_contig("hr21")


def test_nearest_boundary_counts_exon_starts_plus_one(table):
    a1 = table.rows[0]  # boundaries 101, 200, 301, 500
    assert a1.nearest_boundary(205) == -5
    assert a1.nearest_boundary(299) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("#NAME\tCHROM\n", "header"),
        (TABLE + "X\t21\t+\t1\t2\n", "7 tab-separated columns"),
        (TABLE + "X\t21\t?\t1\t2\t1,\t2,\n", "STRAND"),
        (TABLE + "X\t21\t+\tone\t2\t1,\t2,\n", "integers"),
        (TABLE + "X\t21\t+\t1\t9\t1,5,\t2,\n", "same"),
        (TABLE + "X\t21\t+\t1\t9\t1,x,\t2,9,\n", "EXON_START"),
    ],
)
def test_bad_tables_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_gene_table(path)
    assert str(path) in str(info.value)


def test_missing_table(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_gene_table(tmp_path / "none.txt")


def test_write_read_round_trip(tmp_path, table):
    out = tmp_path / "copy.txt.gz"
    assert write_gene_table(table.rows, out) == 3
    again = read_gene_table(out)
    assert again.rows == table.rows
    assert format_row(table.rows[0]) == "A1\t21\t+\t100\t500\t100,300,\t200,500,"


def test_table_from_gff3(test_data):
    rows = rows_from_gene_models(test_data / "annotate" / "test.gff.gz")
    # NCBI RefSeq NM_177987.3 (hg19), the only transcript of TUBB8 in the file; minus strand
    assert rows == [
        GeneRow(
            "TUBB8",
            "chr10",
            "-",
            92827,
            95236,
            (92827, 94554, 94743, 95121),
            (94054, 94665, 94852, 95236),
        )
    ]
    table = load_gene_table(test_data / "annotate" / "test.gff.gz")
    assert [g.name for g in table.overlapping("10", 94077)] == ["TUBB8"]


def test_annotation_build_cli(tmp_path, test_data):
    out = tmp_path / "tubb8.txt"
    result = CliRunner().invoke(
        app, ["annotation", "build", str(test_data / "annotate" / "test.gff.gz"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == [
        "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END",
        "TUBB8\tchr10\t-\t92827\t95236\t92827,94554,94743,95121,\t94054,94665,94852,95236,",
    ]
    missing = CliRunner().invoke(app, ["annotation", "build", str(tmp_path / "no.gtf")])
    assert missing.exit_code == 1


@needs_spliceai
@pytest.mark.parametrize(("name", "genes"), [("grch37", 20274), ("grch38", 19305)])
def test_builtin_tables(name, genes):
    table = load_gene_table(name)
    assert len(table) == genes
    if name == "grch37":
        tubb8 = table.overlapping("chr10", 94077)
        assert [(g.name, g.strand, g.tx_start0, g.tx_end0) for g in tubb8] == [
            ("TUBB8", "-", 92892, 95529)
        ]


def test_gene_table_accepts_rows_directly():
    table = GeneTable([GeneRow("G", "chr1", "+", 0, 10, (0,), (10,))])
    assert [g.name for g in table.overlapping("1", 10)] == ["G"]

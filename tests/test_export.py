"""rnatools export: VEP plugin files, Exomiser's TEST pathogenicity file, TSV.

The input is a real ``rnatools annotate`` output (SpliceAI 1.3.1 weights, SpliceAI's grch38 gene
table, the BRCA1 example FASTA): ``tests/data/export/annotated.spliceai.vcf`` (see its
PROVENANCE.md). The numbers asserted below are that run's.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import pysam
import pytest
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.errors import InputError, UsageError
from rnatools.pipelines.export import (
    ExportSettings,
    exomiser_contig,
    export_scores,
    tsv_columns,
    vep_output_paths,
)
from rnatools.scoring.entries import parse_entries

DATA = Path(__file__).parent / "data" / "export"
ANNOTATED = DATA / "annotated.spliceai.vcf"
MULTI = DATA / "annotated.multi.vcf"  # SpliceAI, Pangolin and OpenSpliceAI keys of one run

# (pos, id, ref, alt, gene, DS_AG, DS_AL, DS_DG, DS_DL, DP_AG, DP_AL, DP_DG, DP_DL), file order;
# the MNV's scores are None ('.'); the intergenic record has no SpliceAI key.
EXPECTED = [
    (42953723, "AARSD1_acceptor", "C", "T", "PTGES3L-AARSD1", 0.0, 0.0, 0.0, 0.87, -41, 48, -48, 1),
    (42953723, "AARSD1_acceptor", "C", "T", "AARSD1", 0.0, 0.0, 0.0, 0.87, -41, 48, -48, 1),
    (42953779, "AARSD1_donor", "C", "T", "PTGES3L-AARSD1", 0.0, 0.78, 0.0, 0.0, -2, -1, 4, -48),
    (42953779, "AARSD1_donor", "C", "T", "AARSD1", 0.0, 0.79, 0.0, 0.0, -2, -1, 4, -48),
    (43045790, "mnv", "AT", "TC", "BRCA1", *([None] * 8)),
    (43045803, "125856", "C", "T", "BRCA1", 0.95, 1.0, 0.0, 0.0, -12, -1, -40, -1),
    (43047641, "125852;125851", "A", "C", "BRCA1", 0.0, 0.0, 0.0, 0.95, -3, 35, -13, 2),
    (43047641, "125852;125851", "A", "G", "BRCA1", 0.0, 0.0, 0.17, 0.95, -3, 35, -3, 2),
    (43047641, "267604", "AC", "A", "BRCA1", 0.0, 0.0, 0.41, 0.95, 3, 35, 3, 2),
    (43047645, "125850", "T", "TA", "BRCA1", 0.0, 0.0, 0.0, 0.07, 31, -7, 0, -7),
    (43049195, "55533", "C", "T", "BRCA1", 0.08, 1.0, 0.0, 0.0, -24, -1, 46, -41),
    (43051061, "267598", "A", "G", "BRCA1", 0.0, 0.01, 0.0, 0.9, -22, 48, -50, 2),
]
SCORED = [row for row in EXPECTED if row[5] is not None]


def _export(tmp_path, to, output, **options):
    settings = ExportSettings(input=str(options.pop("input", ANNOTATED)), output=str(output), to=to)
    settings = ExportSettings(**{**settings.__dict__, **options})
    return export_scores(settings)


def _read_table(path: Path) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return [line.rstrip("\n").split("\t") for line in handle]


def _number(text: str):
    return None if text == "" else float(text)


def test_tsv_one_row_per_allele_and_gene(tmp_path):
    out = tmp_path / "scores.tsv"
    summary = _export(tmp_path, "tsv", out)
    header, *rows = _read_table(out)
    assert (
        header
        == tsv_columns("SpliceAI")
        == (
            "chrom pos id ref alt gene transcript ds_ag ds_al ds_dg ds_dl dp_ag dp_al dp_dg dp_dl "
            "max"
        ).split()
    )
    assert len(rows) == len(EXPECTED) == summary.rows
    for row, expected in zip(rows, EXPECTED, strict=True):
        pos, record_id, ref, alt, gene, *numbers = expected
        assert row[:7] == ["chr17", str(pos), record_id, ref, alt, gene, ""]
        assert [_number(cell) for cell in row[7:11]] == numbers[:4]
        assert [None if c == "" else int(c) for c in row[11:15]] == numbers[4:]
        scores = [value for value in numbers[:4] if value is not None]
        assert _number(row[15]) == (max(scores) if scores else None)
    assert (summary.records, summary.exported, summary.without_key) == (10, 9, 1)
    # pandas-style reading: the donor variant's two genes keep their own numbers.
    donor = [row for row in rows if row[2] == "AARSD1_donor"]
    assert [(row[5], float(row[15])) for row in donor] == [
        ("PTGES3L-AARSD1", 0.78),
        ("AARSD1", 0.79),
    ]


def test_exomiser_score_is_the_max_over_genes(tmp_path):
    plain = tmp_path / "exomiser.tsv"
    summary = _export(tmp_path, "exomiser", plain)
    header, *rows = _read_table(plain)
    assert header == ["#CHR", "POS", "REF", "ALT", "SCORE"]
    expected: dict[tuple, float] = {}
    for pos, _id, ref, alt, _gene, *numbers in SCORED:
        expected[(pos, ref, alt)] = max(expected.get((pos, ref, alt), 0.0), *numbers[:4])
    assert {(int(r[1]), r[2], r[3]): float(r[4]) for r in rows} == expected
    assert all(row[0] == "17" for row in rows)  # Exomiser's contig names
    assert float([r for r in rows if r[1] == "42953779"][0][4]) == 0.79  # AARSD1, not 0.78
    assert len(rows) == 9 == summary.rows and summary.unscored == 1  # the MNV's '.'
    # .gz: bgzipped and indexed as tabix -s1 -b2 -e2 -c#, same lines.
    packed = tmp_path / "exomiser.tsv.gz"
    _export(tmp_path, "exomiser", packed)
    assert _read_table(packed) == [header, *rows]
    with pysam.TabixFile(str(packed)) as tabix:
        assert tabix.contigs == ["17"]
        hits = [line.split("\t") for line in tabix.fetch("17", 43047640, 43047641)]
    assert [(h[2], h[3], float(h[4])) for h in hits] == [
        ("A", "C", 0.95),
        ("A", "G", 0.95),
        ("AC", "A", 0.95),
    ]


def test_vep_file_is_indexed_with_one_alt_and_one_gene_per_line(tmp_path):
    out = tmp_path / "spliceai.vcf.gz"
    summary = _export(tmp_path, "vep", out)
    assert (tmp_path / "spliceai.vcf.gz.tbi").is_file()
    assert summary.unscored == 1 and summary.rows == len(SCORED)
    with pysam.VariantFile(str(out)) as vcf:
        assert list(vcf.header.contigs) == ["chr17"]
        assert vcf.header.contigs["chr17"].length == 83_257_441
        assert list(vcf.header.info) == ["SpliceAI"]
        records = list(vcf)
        region = list(vcf.fetch("chr17", 42953700, 42953800))
    assert len(region) == 4  # the two AARSD1 variants, two genes each
    seen = []
    for record in records:
        assert len(record.alts) == 1
        assert list(record.info) == ["SpliceAI"]
        (text,) = record.info["SpliceAI"]  # one entry: one allele, one gene
        (entry,) = parse_entries("SpliceAI", text)
        assert entry.allele == record.alts[0]
        seen.append(
            (
                record.pos,
                record.id,
                record.ref,
                entry.allele,
                entry.gene,
                *entry.scores,
                *entry.positions,
            )
        )
    assert seen == SCORED
    # Each line as the plugin reads it: 8 columns, INFO = "SpliceAI=" + ALLELE|SYMBOL|9 fields.
    for line in gzip.open(out, "rt"):
        if not line.startswith("#"):
            columns = line.rstrip("\n").split("\t")
            assert len(columns) == 8 and columns[7].startswith("SpliceAI=")
            assert "," not in columns[7] and len(columns[7].split("|")) == 10


def test_vep_split_snv_and_indel_files(tmp_path):
    summary = _export(tmp_path, "vep", tmp_path / "scores", split=True)
    snv, indel = vep_output_paths(str(tmp_path / "scores"), True)
    assert snv.endswith("scores.snv.vcf.gz") and indel.endswith("scores.indel.vcf.gz")
    assert summary.outputs == [snv, indel]
    assert vep_output_paths("x.vcf.gz", True) == ["x.snv.vcf.gz", "x.indel.vcf.gz"]
    got = {}
    for path in (snv, indel):
        assert Path(path + ".tbi").is_file()
        with pysam.VariantFile(path) as vcf:
            got[path] = [(r.pos, r.ref, r.alts[0], r.info["SpliceAI"][0]) for r in vcf]
    assert all(len(ref) == 1 and len(alt) == 1 for _, ref, alt, _ in got[snv])
    assert [(pos, ref, alt) for pos, ref, alt, _ in got[indel]] == [
        (43047641, "AC", "A"),
        (43047645, "T", "TA"),
    ]
    assert len(got[snv]) + len(got[indel]) == len(SCORED)


def test_cli_and_exit_codes(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(ANNOTATED), "--to", "tsv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("chrom\tpos\tid")
    assert "left out: 1 records without SpliceAI" in result.output
    out = tmp_path / "v.vcf.gz"
    result = runner.invoke(app, ["export", str(ANNOTATED), "--to", "vep", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and Path(f"{out}.tbi").is_file()
    usage = [
        ["--to", "tsv", "--split"],
        ["--to", "vep", "-o", str(tmp_path / "v.tsv")],  # not .vcf.gz
        ["--to", "vep"],  # stdout
        ["--to", "vep", "-o", str(out), "--key", "SpliceAI_TX"],  # the plugin reads genes
        ["--to", "tsv", "--key", "Pangolin"],  # not declared in the input
        ["--to", "tsv", "--key", "SpliceAI_RAW"],
    ]
    for arguments in usage:
        result = runner.invoke(app, ["export", str(ANNOTATED), *arguments])
        assert result.exit_code == 2, (arguments, result.output)
    split_error = runner.invoke(app, ["export", str(ANNOTATED), "--to", "tsv", "--split"])
    assert "--split: splitting into SNV and indel files" in split_error.output
    missing = runner.invoke(app, ["export", str(tmp_path / "no.vcf"), "--to", "tsv"])
    assert missing.exit_code == 1 and "no.vcf" in missing.output


def _vcf(tmp_path: Path, name: str, key: str, rows: list[str]) -> Path:
    path = tmp_path / name
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr17,length=83257441>",
        f'##INFO=<ID={key},Number=.,Type=String,Description="test">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    path.write_text("\n".join(header + rows) + "\n")
    return path


def test_malformed_entry_names_file_line_and_entry(tmp_path):
    bad = "T|BRCA1|0.95|1.00|0.00|-12|-1|-40|-1"  # DS_DL missing
    path = _vcf(
        tmp_path,
        "bad.vcf",
        "SpliceAI",
        [
            "chr17\t43045803\t.\tC\tT\t.\t.\tSpliceAI=T|BRCA1|0.95|1.00|0.00|0.00|-12|-1|-40|-1",
            f"chr17\t43049195\t.\tC\tT\t.\t.\tSpliceAI={bad}",
        ],
    )
    with pytest.raises(InputError) as caught:
        _export(tmp_path, "tsv", tmp_path / "out.tsv", input=path)
    assert caught.value.path == str(path) and caught.value.line == 6
    assert repr(bad) in str(caught.value) and "chr17:43049195" in str(caught.value)
    assert not (tmp_path / "out.tsv").exists()  # nothing half-written
    wrong_allele = _vcf(
        tmp_path,
        "allele.vcf",
        "SpliceAI",
        ["chr17\t43045803\t.\tC\tT\t.\t.\tSpliceAI=G|BRCA1|0.95|1.00|0.00|0.00|-12|-1|-40|-1"],
    )
    with pytest.raises(InputError, match="not an ALT"):
        _export(tmp_path, "tsv", tmp_path / "out.tsv", input=wrong_allele)
    result = CliRunner().invoke(app, ["export", str(path), "--to", "exomiser"])
    assert result.exit_code == 1 and f"{path}:6:" in result.output


def test_unsorted_input_refused_for_indexed_outputs_only(tmp_path):
    lines = [line for line in ANNOTATED.read_text().splitlines(keepends=True)]
    body = [line for line in lines if not line.startswith("#")]
    unsorted = tmp_path / "unsorted.vcf"
    unsorted.write_text("".join([line for line in lines if line.startswith("#")] + body[::-1]))
    with pytest.raises(InputError, match="not sorted"):
        _export(tmp_path, "vep", tmp_path / "v.vcf.gz", input=unsorted)
    assert not (tmp_path / "v.vcf.gz").exists() and not (tmp_path / "v.vcf.gz.tbi").exists()
    with pytest.raises(InputError, match="not sorted"):
        _export(tmp_path, "exomiser", tmp_path / "e.tsv.gz", input=unsorted)
    assert _export(tmp_path, "tsv", tmp_path / "t.tsv", input=unsorted).rows == len(EXPECTED)
    assert _export(tmp_path, "exomiser", tmp_path / "e.tsv", input=unsorted).rows == 9


def test_bgzip_input_and_openspliceai_key_under_spliceai(tmp_path):
    text = ANNOTATED.read_text().replace("ID=SpliceAI,", "ID=OpenSpliceAI,")
    text = text.replace("\tSpliceAI=", "\tOpenSpliceAI=")
    plain = tmp_path / "osai.vcf"
    plain.write_text(text)
    packed = tmp_path / "osai.vcf.gz"
    pysam.tabix_compress(str(plain), str(packed))
    out = tmp_path / "v.vcf.gz"
    summary = _export(tmp_path, "vep", out, input=packed, key="OpenSpliceAI")
    assert summary.rows == len(SCORED)
    with pysam.VariantFile(str(out)) as vcf:
        assert "OpenSpliceAI entries" in vcf.header.info["SpliceAI"].description
        assert [r.info["SpliceAI"][0].split("|")[1] for r in vcf][:2] == [
            "PTGES3L-AARSD1",
            "AARSD1",
        ]


def test_transcript_key_rows_carry_transcript_and_priority(tmp_path):
    path = _vcf(
        tmp_path,
        "tx.vcf",
        "SpliceAI_TX",
        [
            "chr17\t43045803\t.\tC\tT\t.\t.\tSpliceAI_TX="
            "T|BRCA1|ENST00000357654|MANE_Select|0.95|1.00|0.00|0.00|-12|-1|-40|-1,"
            "T|BRCA1|ENST00000471181|other|0.90|0.97|0.00|0.00|-12|-1|-40|-1"
        ],
    )
    out = tmp_path / "tx.tsv"
    _export(tmp_path, "tsv", out, input=path, key="SpliceAI_TX")
    header, *rows = _read_table(out)
    assert header[5:8] == ["gene", "transcript", "priority"]
    assert [(r[6], r[7], float(r[9]), float(r[-1])) for r in rows] == [
        ("ENST00000357654", "MANE_Select", 1.0, 1.0),
        ("ENST00000471181", "other", 0.97, 0.97),
    ]
    exomiser = tmp_path / "tx.exomiser.tsv"
    _export(tmp_path, "exomiser", exomiser, input=path, key="SpliceAI_TX")
    assert _read_table(exomiser)[1] == ["17", "43045803", "C", "T", "1.0"]


def test_pangolin_key(tmp_path):
    # Entries as the original pangolin.py writes them (Pangolin oracle, BRCA1 records 0 and 2).
    path = _vcf(
        tmp_path,
        "pangolin.vcf",
        "Pangolin",
        [
            "chr17\t43045700\t.\tA\tG\t.\t.\t"
            "Pangolin=ENSG00000012048.23_1|1:0.25|-3:-0.12999999523162842|Warnings:",
            "chr17\t43045800\t.\tA\tC,G\t.\t.\tPangolin="
            "ENSG00000012048.23_1|-1:0.8600000143051147|-3:-0.8299999833106995|Warnings:,"
            "ENSG00000012048.23_1|-46:0.0|-45:0.0|Warnings:",
        ],
    )
    out = tmp_path / "p.tsv"
    _export(tmp_path, "tsv", out, input=path, key="Pangolin")
    header, *rows = _read_table(out)
    assert header == tsv_columns("Pangolin")
    assert [(r[4], int(r[6]), float(r[7]), int(r[8]), float(r[9]), float(r[10])) for r in rows] == [
        ("G", 1, 0.25, -3, -0.12999999523162842, 0.25),
        ("C", -1, 0.8600000143051147, -3, -0.8299999833106995, 0.8600000143051147),
        ("G", -46, 0.0, -45, 0.0, 0.0),
    ]
    exomiser = tmp_path / "p.exomiser.tsv.gz"
    _export(tmp_path, "exomiser", exomiser, input=path, key="Pangolin")
    assert [(r[3], float(r[4])) for r in _read_table(exomiser)[1:]] == [
        ("G", 0.25),
        ("C", 0.8600000143051147),
        ("G", 0.0),
    ]
    with pytest.raises(UsageError, match="VEP SpliceAI plugin"):
        _export(tmp_path, "vep", tmp_path / "p.vcf.gz", input=path, key="Pangolin")


def test_pangolin_allele_without_scores(tmp_path):
    path = tmp_path / "pa.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=83257441>\n"
        '##INFO=<ID=Pangolin,Number=A,Type=String,Description="test">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr17\t43045800\t.\tA\tC,G\t.\t.\t"
        "Pangolin=.,ENSG00000012048.23_1|-15:0.81|-2:-0.85|Warnings:\n"
        "chr17\t43045801\t.\tA\tC\t.\t.\tPangolin=.\n"
    )
    out = tmp_path / "pa.tsv"
    summary = _export(tmp_path, "exomiser", out, input=path, key="Pangolin")
    assert _read_table(out)[1:] == [["17", "43045800", "A", "G", "0.85"]]
    assert (summary.unscored, summary.without_key, summary.rows) == (1, 1, 1)


def test_real_pangolin_and_openspliceai_keys(tmp_path):
    out = tmp_path / "pangolin.tsv"
    summary = _export(tmp_path, "tsv", out, input=MULTI, key="Pangolin")
    header, *rows = _read_table(out)
    assert header == "chrom pos id ref alt gene gain_position gain loss_position loss max".split()
    assert (summary.records, summary.without_key, len(rows)) == (10, 1, 12)
    cells = [(r[2], r[4], r[5], int(r[6]), float(r[7]), int(r[8]), float(r[9])) for r in rows]
    assert cells[:2] == [
        ("AARSD1_acceptor", "T", "PTGES3L-AARSD1", -4, 0.0, 1, -0.62),
        ("AARSD1_acceptor", "T", "AARSD1", -4, 0.0, 1, -0.62),
    ]
    assert ("125852;125851", "G", "BRCA1", -3, 0.07, 2, -0.73) in cells  # second ALT's group
    assert ("mnv", "TC", "BRCA1", 0, 0.0, 12, -0.01) in cells  # Pangolin scores MNVs
    assert [float(r[10]) for r in rows] == [max(abs(c[4]), abs(c[6])) for c in cells]
    exomiser = tmp_path / "pangolin.exomiser.tsv"
    _export(tmp_path, "exomiser", exomiser, input=MULTI, key="Pangolin")
    scores = {(r[1], r[3]): float(r[4]) for r in _read_table(exomiser)[1:]}
    assert scores[("43045803", "T")] == 0.82 and scores[("42953779", "T")] == 0.57
    assert len(scores) == 10  # every ALT, the MNV included
    # OpenSpliceAI entries go to the VEP file under SpliceAI=, numbers unchanged.
    vep = tmp_path / "osai.vcf.gz"
    _export(tmp_path, "vep", vep, input=MULTI, key="OpenSpliceAI")
    with pysam.VariantFile(str(vep)) as vcf:
        lines = [(r.pos, r.alts[0], r.info["SpliceAI"][0]) for r in vcf]
    assert (43045803, "T", "T|BRCA1|0.90|0.98|0.00|0.00|-12|-1|-12|-1") in lines
    assert len(lines) == 11


def test_exomiser_contig_names():
    assert [
        exomiser_contig(c) for c in ("chr17", "17", "chrX", "chrM", "MT", "chr1_KI270706v1_random")
    ] == [
        "17",
        "17",
        "X",
        "M",
        "M",
        "1_KI270706v1_random",
    ]


def test_committed_files_match_their_provenance():
    provenance = (DATA / "PROVENANCE.md").read_text()
    for name in ("input.vcf", "annotated.spliceai.vcf", "annotated.multi.vcf"):
        digest = hashlib.sha256((DATA / name).read_bytes()).hexdigest()
        assert f"`{name}` | `{digest}`" in provenance, name


def test_export_needs_neither_numpy_nor_torch():
    code = (
        "import sys, rnatools.pipelines.export, rnatools.cli.export; "
        "print(sorted(m for m in ('numpy', 'torch') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"

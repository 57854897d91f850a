"""Lookup of precomputed scores (rnatools.scoring.precomputed).

The real-number tests use tests/data/precomputed (PROVENANCE.md there): an `rnatools annotate`
output of 12 one-ALT ClinVar BRCA1 records (brca1.spliceai.vcf.gz) and the computed output of the
same records written as 10 lines, two of them multi-ALT (query.expected.vcf).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pysam
import pytest

from rnatools.errors import InputError, UsageError
from rnatools.io.gene_table import GeneRow, GeneTable, load_gene_table
from rnatools.scoring.precomputed import (
    COMPARED_SETTINGS,
    PrecomputedScores,
    annotation_checksum,
    is_settings_line,
    parse_stated_settings,
    read_settings,
    run_settings,
    settings_header_line,
)
from rnatools.scoring.variants import Variant

DATA = Path(__file__).parent / "data" / "precomputed"
ROOT = Path(__file__).parents[1]
GTF = ROOT / "examples" / "brca1" / "brca1.gtf"
PRECOMPUTED = DATA / "brca1.spliceai.vcf.gz"
GTF_MD5 = "ea042218680c6485237ec8e200d6e5f5"


@pytest.fixture(scope="module")
def genes() -> GeneTable:
    return load_gene_table(GTF)


@pytest.fixture(scope="module")
def settings() -> dict[str, str]:
    return run_settings(model="spliceai", distance=50, mask=False, annotation=GTF)


def _expected() -> list[tuple[Variant, list[str]]]:
    """The query records and the entries `rnatools annotate` computed for them."""
    rows = []
    with pysam.VariantFile(str(DATA / "query.expected.vcf")) as vcf:
        for record in vcf:
            variant = Variant(record.chrom, record.pos, record.ref, tuple(record.alts))
            rows.append((variant, list(record.info["SpliceAI"])))
    return rows


def _data_lines(path: Path) -> tuple[list[str], list[str]]:
    with pysam.TabixFile(str(path)) as tabix:
        header = list(tabix.header)
        lines = list(tabix.fetch())
    return header, lines


def _write(path: Path, header: list[str], lines: list[str], index: bool = True) -> Path:
    plain = path.with_suffix("")  # x.vcf.gz -> x.vcf
    plain.write_text("\n".join(header + lines) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    if index:
        pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


# -- settings lines --------------------------------------------------------------------------


def test_annotation_checksum_is_the_md5_of_the_file_bytes():
    assert annotation_checksum(GTF) == GTF_MD5
    assert hashlib.md5(GTF.read_bytes()).hexdigest() == GTF_MD5


def test_builtin_annotation_checksum_is_that_of_the_packaged_table():
    from rnatools.io.gene_table import builtin_table_path

    try:
        path = builtin_table_path("grch38")
    except Exception as exc:  # noqa: BLE001 - spliceai not installed
        pytest.skip(f"spliceai package not installed ({exc})")
    assert annotation_checksum("grch38") == hashlib.md5(path.read_bytes()).hexdigest()
    assert annotation_checksum("GRCh38") == annotation_checksum("grch38")
    assert annotation_checksum("grch37") != annotation_checksum("grch38")


def test_run_settings_and_header_line(settings):
    assert settings["annotation"] == "brca1.gtf"
    assert settings["annotation_md5"] == GTF_MD5
    line = settings_header_line("SpliceAI", settings)
    assert line.startswith(
        "##rnatools_settings=<key=SpliceAI,model=spliceai,distance=50,mask=0,"
        f"annotation=brca1.gtf,annotation_md5={GTF_MD5},transcripts=gene,version="
    )
    assert read_settings([line]) == {"SpliceAI": settings}
    assert is_settings_line(line) and is_settings_line(line, "SpliceAI")
    assert not is_settings_line(line, "Pangolin")


def test_settings_values_are_quoted_and_read_back(tmp_path):
    tricky = {"model": "spliceai", "annotation": 'my genes, v2 "final" <x>=\\y.gtf'}
    line = settings_header_line("SpliceAI", tricky)
    assert line == (
        "##rnatools_settings=<key=SpliceAI,model=spliceai,"
        'annotation="my genes, v2 \\"final\\" <x>=\\\\y.gtf">'
    )
    assert read_settings([line])["SpliceAI"] == tricky
    # the same line survives pysam/htslib and is read from a VariantHeader
    path = tmp_path / "h.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n"
        + line
        + "\n"
        + settings_header_line("Pangolin", {"model": "pangolin", "distance": "50"})
        + "\n"
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    )
    with pysam.VariantFile(str(path)) as vcf:
        found = read_settings(vcf.header)
    assert found == {"SpliceAI": tricky, "Pangolin": {"model": "pangolin", "distance": "50"}}
    with pytest.raises(ValueError, match="two different settings lines"):
        read_settings([line, settings_header_line("SpliceAI", {"model": "other"})])
    with pytest.raises(ValueError, match="line break"):
        settings_header_line("SpliceAI", {"annotation": "a\nb"})


def test_parse_stated_settings():
    assert parse_stated_settings("distance=50,mask=0") == {"distance": "50", "mask": "0"}
    assert parse_stated_settings(" Distance = 0500 , mask=masked ") == {
        "distance": "500",
        "mask": "1",
    }
    assert parse_stated_settings("") is None
    assert parse_stated_settings(None) is None
    for text, named in [
        ("distance=50,mask=2", "'mask=2'"),
        ("distance=fifty", "'distance=fifty'"),
        ("distance=50,colour=red", "'colour=red'"),
        ("distance", "'distance'"),
        ("mask=0,mask=1", "'mask=1'"),
    ]:
        with pytest.raises(UsageError) as info:
            parse_stated_settings(text)
        assert info.value.parameter == "precomputed_settings"
        assert named in str(info.value)


# -- lookup on real scores -------------------------------------------------------------------


def test_every_record_hits_with_the_computed_entries(genes, settings):
    expected = _expected()
    assert len(expected) == 10
    assert sum(len(variant.alts) for variant, _ in expected) == 12
    with PrecomputedScores([PRECOMPUTED], "SpliceAI", settings, None, genes) as scores:
        for variant, entries in expected:
            assert scores.lookup(variant) == entries
        assert scores.hits == 10 and scores.misses == 0
        assert scores.hits_by_file == {str(PRECOMPUTED): 10}
        assert scores.counts() == {"hits": 10, "misses": 0, str(PRECOMPUTED): 10}
    # the multi-ALT records take one entry per ALT, in ALT order, from two one-ALT lines
    multi = [entries for variant, entries in expected if len(variant.alts) == 2]
    assert multi[0] == [
        "A|BRCA1|0.00|0.01|0.00|0.00|7|-4|-3|-4",
        "T|BRCA1|0.00|0.01|0.00|0.00|7|-4|-7|-32",
    ]


def test_half_the_records_removed_gives_half_misses(genes, settings, tmp_path):
    header, lines = _data_lines(PRECOMPUTED)
    expected = _expected()
    removed = {variant.pos1 for variant, _ in expected[::2]}
    kept = [line for line in lines if int(line.split("\t")[1]) not in removed]
    path = _write(tmp_path / "half.vcf.gz", header, kept)
    with PrecomputedScores([path], "SpliceAI", settings, None, genes) as scores:
        results = scores.lookup_many(variant for variant, _ in expected)
        assert scores.hits == 5 and scores.misses == 5
    for (variant, entries), result in zip(expected, results, strict=True):
        assert result == (None if variant.pos1 in removed else entries)
    # one ALT of a multi-ALT record missing: the record is a miss
    without_t = [line for line in lines if not line.startswith("chr17\t43045795\t.\tC\tT\t")]
    assert len(without_t) == len(lines) - 1
    path = _write(tmp_path / "no_t.vcf.gz", header, without_t)
    multi = Variant("chr17", 43045795, "C", ("A", "T"))
    with PrecomputedScores([path], "SpliceAI", settings, None, genes) as scores:
        assert scores.lookup(multi) is None
        assert scores.lookup(Variant("chr17", 43045795, "C", ("A",))) == [
            "A|BRCA1|0.00|0.01|0.00|0.00|7|-4|-3|-4"
        ]


def test_two_files_complete_each_other(genes, settings, tmp_path):
    header, lines = _data_lines(PRECOMPUTED)
    first = _write(tmp_path / "a.vcf.gz", header, lines[::2])
    second = _write(tmp_path / "b.vcf.gz", header, lines[1::2])
    expected = _expected()
    with PrecomputedScores([first, second], "SpliceAI", settings, None, genes) as scores:
        for variant, entries in expected:
            assert scores.lookup(variant) == entries
        assert scores.hits == 10
        # 43045795 C>A,T: A from one file, T from the other: both count the record
        assert scores.hits_by_file == {str(first): 6, str(second): 6}


def test_chr_prefix_mismatch_still_hits(genes, settings, tmp_path):
    header, lines = _data_lines(PRECOMPUTED)
    header = [line.replace("##contig=<ID=chr17,", "##contig=<ID=17,") for line in header]
    lines = [line.removeprefix("chr") for line in lines]
    path = _write(tmp_path / "nochr.vcf.gz", header, lines)
    with PrecomputedScores([path], "SpliceAI", settings, None, genes) as scores:
        for variant, entries in _expected():
            assert scores.lookup(variant) == entries
        # a contig the file does not have is a miss, not an error
        assert scores.lookup(Variant("chr1", 43045793, "T", ("A",))) is None


def test_records_that_are_not_looked_up_are_misses(genes, settings):
    with PrecomputedScores([PRECOMPUTED], "SpliceAI", settings, None, genes) as scores:
        assert scores.lookup(Variant("chr17", 43045793, "T", ("G",))) is None  # other ALT
        assert scores.lookup(Variant("chr17", 43045793, "C", ("A",))) is None  # other REF
        assert scores.lookup(Variant("chr17", 43045794, "T", ("A",))) is None  # other POS
        assert scores.lookup(Variant("chr17", 1000, "A", ("C",))) is None  # intergenic
        assert scores.lookup(Variant("chr17", 43045793, "T", None)) is None  # ALT '.'
        assert scores.lookup(Variant("chr17", 43045793, "T", ("<DEL>",))) is None
        assert scores.misses == 6 and scores.hits == 0
        # a symbolic ALT beside a scorable one gets no entry, as when computed
        assert scores.lookup(Variant("chr17", 43045793, "T", ("A", "*"))) == [
            "A|BRCA1|0.00|0.01|0.00|0.00|-11|-2|-5|-2"
        ]
        # the ALT is matched without regard to case and written as the run's VCF spells it
        assert scores.lookup(Variant("chr17", 43045793, "t", ("a",))) == [
            "a|BRCA1|0.00|0.01|0.00|0.00|-11|-2|-5|-2"
        ]


# -- settings checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("distance", "500", "distance=50, this run uses distance=500"),
        ("mask", "1", "mask=0, this run uses mask=1"),
        ("model", "openspliceai-mane", "model=spliceai, this run uses model=openspliceai-mane"),
        ("transcripts", "all", "transcripts=gene, this run uses transcripts=all"),
        ("annotation_md5", "0" * 32, f"annotation_md5={GTF_MD5}, this run uses"),
    ],
)
def test_other_settings_are_refused_naming_the_setting(genes, settings, name, value, shown):
    other = dict(settings, **{name: value})
    with pytest.raises(UsageError) as info:
        PrecomputedScores([PRECOMPUTED], "SpliceAI", other, None, genes)
    message = str(info.value)
    assert info.value.parameter == "precomputed"
    assert shown in message and str(PRECOMPUTED) in message
    assert "\n" not in message
    assert name in COMPARED_SETTINGS


def test_version_and_annotation_name_are_not_compared(genes, settings):
    other = dict(settings, version="9.9", annotation="renamed.gtf")
    with PrecomputedScores([PRECOMPUTED], "SpliceAI", other, None, genes) as scores:
        assert scores.lookup(_expected()[2][0]) == _expected()[2][1]


def test_file_of_another_key_is_refused(genes, settings):
    with pytest.raises(UsageError, match="without OpenSpliceAI scores.*lines are for SpliceAI"):
        PrecomputedScores([PRECOMPUTED], "OpenSpliceAI", settings, None, genes)


def test_headerless_file_needs_stated_settings(genes, settings, tmp_path):
    header, lines = _data_lines(PRECOMPUTED)
    bare = [line for line in header if not is_settings_line(line)]
    assert len(bare) == len(header) - 1
    path = _write(tmp_path / "illumina_like.vcf.gz", bare, lines)
    with pytest.raises(UsageError) as info:
        PrecomputedScores([path], "SpliceAI", settings, None, genes)
    assert info.value.parameter == "precomputed"
    assert "--precomputed-settings distance=50,mask=0" in str(info.value)
    assert "\n" not in str(info.value)

    stated = parse_stated_settings("distance=50,mask=0")
    with PrecomputedScores([path], "SpliceAI", settings, stated, genes) as scores:
        for variant, entries in _expected():
            assert scores.lookup(variant) == entries
    # the annotation may be stated too: as the file, or as its MD5
    for annotation in (str(GTF), GTF_MD5):
        stated = parse_stated_settings(f"distance=50,mask=0,annotation={annotation}")
        PrecomputedScores([path], "SpliceAI", settings, stated, genes).close()

    for text, named in [
        ("distance=50,mask=1", "mask: file 1, run 0"),
        ("distance=500,mask=0", "distance: file 500, run 50"),
        (f"distance=50,mask=0,annotation={'f' * 32}", "annotation: file ffff"),
    ]:
        with pytest.raises(UsageError) as info:
            PrecomputedScores([path], "SpliceAI", settings, parse_stated_settings(text), genes)
        assert info.value.parameter == "precomputed_settings"
        assert named in str(info.value)
    with pytest.raises(UsageError, match="stated settings lack mask"):
        PrecomputedScores([path], "SpliceAI", settings, {"distance": "50"}, genes)


def test_stated_settings_do_not_override_a_files_own(genes, settings):
    stated = parse_stated_settings("distance=50,mask=1")  # wrong for the file, not used
    with PrecomputedScores([PRECOMPUTED], "SpliceAI", settings, stated, genes) as scores:
        assert scores.lookup(_expected()[0][0]) == _expected()[0][1]


def test_file_problems_are_named(genes, settings, tmp_path):
    header, lines = _data_lines(PRECOMPUTED)
    unindexed = _write(tmp_path / "unindexed.vcf.gz", header, lines, index=False)
    with pytest.raises(UsageError) as info:
        PrecomputedScores([unindexed], "SpliceAI", settings, None, genes)
    assert f"index it with tabix -p vcf {unindexed}" in str(info.value)
    with pytest.raises(InputError, match="not found"):
        PrecomputedScores([tmp_path / "absent.vcf.gz"], "SpliceAI", settings, None, genes)
    undeclared = [line for line in header if not line.startswith("##INFO=<ID=SpliceAI,")]
    path = _write(tmp_path / "undeclared.vcf.gz", undeclared, lines)
    with pytest.raises(UsageError, match="declares no INFO key SpliceAI"):
        PrecomputedScores([path], "SpliceAI", settings, None, genes)
    # a CSI index works as well as a tabix one
    csi = _write(tmp_path / "csi.vcf.gz", header, lines, index=False)
    pysam.tabix_index(str(csi), preset="vcf", csi=True, force=True)
    assert Path(str(csi) + ".csi").is_file()
    with PrecomputedScores([csi], "SpliceAI", settings, None, genes) as scores:
        assert scores.lookup(_expected()[0][0]) == _expected()[0][1]


# -- genes, order, windows (synthetic entries) ----------------------------------------------

_HEADER = [
    "##fileformat=VCFv4.2",
    '##INFO=<ID=SpliceAI,Number=.,Type=String,Description="test">',
    "##contig=<ID=chr1,length=1000000>",
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
]


def _gene(name: str, start0: int, end0: int) -> GeneRow:
    return GeneRow(name, "chr1", "+", start0, end0, (start0,), (end0,))


def test_entries_follow_the_runs_gene_order_and_other_genes_are_dropped(tmp_path):
    genes = GeneTable([_gene("GENE_A", 0, 5000), _gene("GENE_B", 100, 6000)])
    settings = {"model": "spliceai", "distance": "50", "mask": "0", "transcripts": "gene"}
    line = (
        "chr1\t200\t.\tA\tC,G\t.\t.\tSpliceAI="
        "G|GENE_B|0.10|0.00|0.00|0.00|1|2|3|4,C|OTHER|0.50|0.00|0.00|0.00|1|2|3|4,"
        "C|GENE_B|0.20|0.00|0.00|0.00|1|2|3|4,G|GENE_A|0.30|0.00|0.00|0.00|1|2|3|4,"
        "C|GENE_A|0.40|0.00|0.00|0.00|1|2|3|4"
    )
    lone = "chr1\t300\t.\tA\tC\t.\t.\tSpliceAI=C|GENE_B|0.60|0.00|0.00|0.00|1|2|3|4"
    # Illumina's layout: the same POS, REF and ALT on one line per gene
    split = [
        "chr1\t250\t.\tA\tC\t.\t.\tSpliceAI=C|GENE_B|0.70|0.00|0.00|0.00|1|2|3|4",
        "chr1\t250\t.\tA\tC\t.\t.\tSpliceAI=C|OTHER|0.80|0.00|0.00|0.00|1|2|3|4",
        "chr1\t250\t.\tA\tC\t.\t.\tSpliceAI=C|GENE_A|0.90|0.00|0.00|0.00|1|2|3|4",
    ]
    path = _write(tmp_path / "genes.vcf.gz", _HEADER, [line, *split, lone])
    stated = {"distance": "50", "mask": "0"}
    with PrecomputedScores([path], "SpliceAI", settings, stated, genes) as scores:
        assert scores.lookup(Variant("chr1", 200, "A", ("G", "C"))) == [
            "G|GENE_A|0.30|0.00|0.00|0.00|1|2|3|4",
            "G|GENE_B|0.10|0.00|0.00|0.00|1|2|3|4",
            "C|GENE_A|0.40|0.00|0.00|0.00|1|2|3|4",
            "C|GENE_B|0.20|0.00|0.00|0.00|1|2|3|4",
        ]
        assert scores.lookup(Variant("chr1", 250, "A", ("C",))) == [
            "C|GENE_A|0.90|0.00|0.00|0.00|1|2|3|4",
            "C|GENE_B|0.70|0.00|0.00|0.00|1|2|3|4",
        ]
        assert scores.lookup(Variant("chr1", 300, "A", ("C",))) is None  # GENE_A lacks one
    only_b = GeneTable([_gene("GENE_B", 100, 6000)])
    with PrecomputedScores([path], "SpliceAI", settings, stated, only_b) as scores:
        assert scores.lookup(Variant("chr1", 300, "A", ("C",))) == [
            "C|GENE_B|0.60|0.00|0.00|0.00|1|2|3|4"
        ]


def test_windows_hold_every_record_in_any_lookup_order(tmp_path):
    """3 ALTs per position, 3,000 positions: window edges fall between lines of one POS."""
    genes = GeneTable([_gene("G", 0, 100_000)])
    settings = {"model": "spliceai", "distance": "50", "mask": "0", "transcripts": "gene"}
    lines, expected = [], {}
    for index in range(3000):
        pos1 = 1000 + 7 * index + (index % 3)
        for alt in "CGT":
            entry = f"{alt}|G|0.{index % 100:02d}|0.00|0.00|0.00|{index % 50}|0|0|0"
            lines.append(f"chr1\t{pos1}\t.\tA\t{alt}\t.\t.\tX=1;SpliceAI={entry};Y=2")
            expected[(pos1, alt)] = entry
    path = _write(tmp_path / "many.vcf.gz", _HEADER, lines)
    keys = sorted(expected)
    shuffled = random.Random(13).sample(keys, 500)  # each costs a tabix seek (~3 ms)
    for order in (keys, shuffled):
        with PrecomputedScores(
            [path], "SpliceAI", settings, {"distance": "50", "mask": "0"}, genes
        ) as scores:
            for pos1, alt in order:
                assert scores.lookup(Variant("chr1", pos1, "A", (alt,))) == [expected[pos1, alt]]
            assert scores.hits == len(order) and scores.misses == 0
            # positions between records are misses without an error
            assert scores.lookup(Variant("chr1", 1003, "A", ("C",))) is None
            window = scores.files[0].window
            assert window.hi - window.lo < 100_000  # bounded, not the whole contig


def test_transcript_entries_of_a_gene_are_all_returned(tmp_path):
    genes = GeneTable([_gene("G", 0, 5000)])
    settings = {"model": "spliceai", "distance": "50", "mask": "0", "transcripts": "gene"}
    header = [line.replace("ID=SpliceAI,", "ID=SpliceAI_TX,") for line in _HEADER]
    entries = [
        "C|G|ENST1|MANE_Select|0.10|0.00|0.00|0.00|1|2|3|4",
        "C|G|ENST2|other|0.20|0.00|0.00|0.00|1|2|3|4",
    ]
    line = "chr1\t200\t.\tA\tC\t.\t.\tSpliceAI_TX=" + ",".join(entries)
    path = _write(tmp_path / "tx.vcf.gz", header, [line])
    stated = {"distance": "50", "mask": "0"}
    with PrecomputedScores([path], "SpliceAI_TX", settings, stated, genes) as scores:
        assert scores.lookup(Variant("chr1", 200, "A", ("C",))) == entries


def test_pangolin_groups_are_looked_up_per_alt(tmp_path):
    """Pangolin: one group per ALT (genes joined by '|'), gene labels from the scorer."""
    genes = GeneTable([_gene("G", 0, 5000)])
    settings = {"model": "pangolin", "distance": "50", "mask": "1", "transcripts": "gene"}
    header = [line.replace("ID=SpliceAI,", "ID=Pangolin,") for line in _HEADER]
    two = "ENSG1|3:0.21|-2:-0.05|Warnings:|ENSG2|-7:0.0|4:-0.33|Warnings:"
    lines = [
        f"chr1\t200\t.\tA\tC,G\t.\t.\tPangolin={two},ENSG1|1:0.5|-1:-0.1|Warnings:|"
        "ENSG2|2:0.0|3:-0.0|Warnings:",
        "chr1\t300\t.\tA\tC\t.\t.\tPangolin=ENSG1|1:0.25|-3:-0.13|Warnings:",
        "chr1\t400\t.\tA\tC,*\t.\t.\tPangolin=ENSG1|1:0.25|-3:-0.13|Warnings:,.",
    ]
    path = _write(tmp_path / "pangolin.vcf.gz", header, lines)
    stated = {"distance": "50", "mask": "1", "model": "pangolin"}

    def labels(variant: Variant) -> list[str]:
        return ["ENSG1", "ENSG2"] if variant.pos1 == 200 else ["ENSG1"]

    with PrecomputedScores([path], "Pangolin", settings, stated, genes, labels) as scores:
        assert scores.lookup(Variant("chr1", 200, "A", ("G", "C"))) == [
            "ENSG1|1:0.5|-1:-0.1|Warnings:|ENSG2|2:0.0|3:-0.0|Warnings:",
            two,
        ]
        assert scores.lookup(Variant("chr1", 300, "A", ("C",))) == [
            "ENSG1|1:0.25|-3:-0.13|Warnings:"
        ]
        # an unscored ALT has the group '.': such records are computed, not looked up
        assert scores.lookup(Variant("chr1", 400, "A", ("C", "*"))) is None
        assert scores.hits == 2 and scores.misses == 1
    # the group's genes must be the run's genes, in the run's order
    with PrecomputedScores(
        [path], "Pangolin", settings, stated, genes, lambda variant: ["ENSG2", "ENSG1"]
    ) as scores:
        assert scores.lookup(Variant("chr1", 200, "A", ("G", "C"))) is None


def test_set_settings_lines_replaces_the_runs_keys_and_keeps_others(tmp_path, settings):
    path = tmp_path / "in.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n"
        + settings_header_line("SpliceAI", dict(settings, distance="500"))
        + "\n"
        + settings_header_line("Pangolin", {"model": "pangolin", "distance": "50"})
        + "\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        + "chr1\t5\t.\tA\tC\t.\t.\t.\n"
    )
    from rnatools.scoring.precomputed import set_settings_lines

    with pysam.VariantFile(str(path)) as vcf:
        header = vcf.header.copy()
    set_settings_lines(header, {"SpliceAI": settings})
    assert read_settings(header) == {
        "SpliceAI": settings,
        "Pangolin": {"model": "pangolin", "distance": "50"},
    }
    assert sum(is_settings_line(line) for line in str(header).splitlines()) == 2
    out = tmp_path / "out.vcf"
    with pysam.VariantFile(str(out), "w", header=header) as vcf:
        pass
    assert read_settings(out.read_text().splitlines())["SpliceAI"]["distance"] == "50"


class _RecordingScorer:
    """Stands for the model: returns the computed entries of query.expected.vcf."""

    def __init__(self):
        self.calls: list[list[Variant]] = []
        self.computed = {variant: entries for variant, entries in _expected()}
        self.computed[Variant("chr17", 43045793, "T", ("G",))] = ["G|BRCA1|computed"]

    def annotate(self, variants):
        from types import SimpleNamespace

        self.calls.append(list(variants))
        return [SimpleNamespace(entries=self.computed[v], skip=None) for v in variants]


def test_lookup_first_sends_only_the_misses_to_the_model(genes, settings, tmp_path):
    from rnatools.scoring.precomputed import LookupFirst, PrecomputedSkip

    header, lines = _data_lines(PRECOMPUTED)
    expected = _expected()
    removed = {variant.pos1 for variant, _ in expected[::2]}
    kept = [line for line in lines if int(line.split("\t")[1]) not in removed]
    path = _write(tmp_path / "half.vcf.gz", header, kept)
    variants = [variant for variant, _ in expected]
    with PrecomputedScores([path], "SpliceAI", settings, None, genes) as scores:
        scorer = _RecordingScorer()
        outcomes = LookupFirst(scores, scorer).annotate(variants)
        assert [outcome.entries for outcome in outcomes] == [e for _, e in expected]
        assert all(outcome.skip is None for outcome in outcomes)
        assert scorer.calls == [[v for v in variants if v.pos1 in removed]]  # one call, 5
    # the model is built at the first miss only
    built: list = []

    def make_scorer():
        built.append(_RecordingScorer())
        return built[-1]

    with PrecomputedScores([PRECOMPUTED], "SpliceAI", settings, None, genes) as scores:
        lazy = LookupFirst(scores, make_scorer=make_scorer)
        assert [o.entries for o in lazy.annotate(variants)] == [e for _, e in expected]
        assert built == [] and lazy.scorer is None
        unknown = Variant("chr17", 43045793, "T", ("G",))
        assert lazy.annotate([unknown, variants[0]])[1].entries == expected[0][1]
        assert len(built) == 1 and built[0].calls == [[unknown]]
    with PrecomputedScores([path], "SpliceAI", settings, None, genes) as scores:
        outcomes = LookupFirst(scores, None).annotate(variants)  # --precomputed-only
        for (variant, entries), outcome in zip(expected, outcomes, strict=True):
            if variant.pos1 in removed:
                assert outcome.entries == [] and outcome.skip is PrecomputedSkip.NOT_PRECOMPUTED
                assert outcome.skip.value == "not_precomputed"
            else:
                assert outcome.entries == entries and outcome.skip is None
        assert scores.counts() == {"hits": 5, "misses": 5, str(path): 5}

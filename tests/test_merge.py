"""rnatools merge: shard outputs joined equal the one-shot output byte for byte."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyBigWig
import pysam
import pytest
import torch
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.engine import Engine
from rnatools.errors import InputError, UsageError
from rnatools.genome import Interval
from rnatools.io.merge import (
    BGZF_BLOCK_SIZE,
    bedgraphs_to_bigwig,
    merge_bedgraphs,
    merge_tables,
    merge_vcfs,
    read_chrom_sizes,
    tables_to_bigwig,
)
from rnatools.io.tracks import open_track_writer
from rnatools.io.vcf import VcfWriter, iter_records, open_vcf
from rnatools.models.base import SpliceModel
from rnatools.scoring.splice_sites import InMemorySequences, predict_splice_sites
from rnatools.sharding import Shard, select_records, shard_intervals

EXAMPLE = Path(__file__).parents[1] / "examples" / "brca1"


# --- VCF: the annotate loop (select_records -> VcfWriter), sharded and not --------------------


def _input_vcf(path: Path, records: int) -> Path:
    """A sorted VCF with INFO long enough that the BGZF output spans several blocks."""
    rng = np.random.default_rng(7)
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr1,length=10000000>",
        "##contig=<ID=chr2,length=10000000>",
        '##INFO=<ID=NOTE,Number=1,Type=String,Description="padding">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    positions = np.sort(rng.integers(1, 2_000_000, size=records))
    for i, pos in enumerate(positions):
        chrom = "chr1" if i < records * 2 // 3 else "chr2"
        note = "x" * int(rng.integers(10, 200))
        lines.append(f"{chrom}\t{pos}\tr{i}\tA\tG,T\t50\tPASS\tNOTE={note}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _annotate_like(source: Path, output: Path, shard: Shard | None, index=None) -> None:
    """What `rnatools annotate` does with its records (score stand-in: an INFO field)."""
    vcf = open_vcf(source)
    vcf.header.add_line('##INFO=<ID=SHARDTEST,Number=1,Type=Integer,Description="test">')
    with vcf, VcfWriter(output, vcf.header, index) as writer:
        for record in select_records(vcf, source, shard=shard, block_nt=50_000):
            record.info["SHARDTEST"] = record.pos % 97
            writer.write(record)


@pytest.fixture(scope="module")
def vcf_input(tmp_path_factory) -> Path:
    return _input_vcf(tmp_path_factory.mktemp("vcf") / "input.vcf", 1500)


@pytest.mark.parametrize("count", [1, 3, 8])
def test_merged_vcf_gz_equals_one_shot_bytes(tmp_path, vcf_input, count):
    one_shot = tmp_path / "one.vcf.gz"
    _annotate_like(vcf_input, one_shot, None, "tbi")
    raw = one_shot.read_bytes()
    assert len(gzip.decompress(raw)) > 3 * BGZF_BLOCK_SIZE  # several BGZF blocks
    shards = []
    for k in range(count):
        shards.append(tmp_path / f"part{k + 1}.vcf.gz")
        _annotate_like(vcf_input, shards[-1], Shard(k, count))
    merged = tmp_path / "merged.vcf.gz"
    assert merge_vcfs(shards, str(merged)) == 1500
    assert merged.read_bytes() == raw  # the compressed bytes too, not only the text
    assert Path(f"{merged}.tbi").read_bytes() == Path(f"{one_shot}.tbi").read_bytes()
    with pysam.VariantFile(str(merged)) as vcf:  # and the index works
        assert [r.id for r in vcf.fetch("chr2", 0, 10_000_000)][:1] == ["r1000"]


def test_merged_plain_vcf_equals_one_shot_and_mixed_inputs(tmp_path, vcf_input):
    one_shot = tmp_path / "one.vcf"
    _annotate_like(vcf_input, one_shot, None)
    shards = [tmp_path / "a.vcf", tmp_path / "b.vcf.gz", tmp_path / "c.bcf"]
    for k, shard in enumerate(shards):
        _annotate_like(vcf_input, shard, Shard(k, 3))
    merged = tmp_path / "merged.vcf"
    # A .bcf shard sends every record through htslib: still the same text.
    merge_vcfs(shards, str(merged))
    assert merged.read_bytes() == one_shot.read_bytes()
    merge_vcfs(shards[:2] + [tmp_path / "c.bcf"], str(tmp_path / "merged.bcf"))
    with pysam.VariantFile(str(tmp_path / "merged.bcf")) as vcf:
        assert sum(1 for _ in vcf) == 1500
    assert Path(f"{tmp_path / 'merged.bcf'}.csi").is_file()


def test_merge_vcf_rejects_different_headers_and_keeps_no_partial_output(tmp_path, vcf_input):
    first = tmp_path / "a.vcf"
    _annotate_like(vcf_input, first, Shard(0, 2))
    other = tmp_path / "b.vcf"
    other.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    )
    out = tmp_path / "out.vcf.gz"
    with pytest.raises(InputError, match="header differs"):
        merge_vcfs([first, other], str(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.vcf", "b.vcf"]  # nothing else
    with pytest.raises(UsageError, match=r"\.vcf\.gz or \.bcf"):
        merge_vcfs([first], str(tmp_path / "x.vcf"), "tbi")
    with pytest.raises(InputError, match="not found"):
        merge_vcfs([tmp_path / "missing.vcf"], str(out))
    # Shards given out of order cannot be indexed: a data error, and still no partial output.
    second = tmp_path / "second.vcf"
    _annotate_like(vcf_input, second, Shard(1, 2))
    with pytest.raises(InputError, match="not sorted"):
        merge_vcfs([second, first], str(out))
    assert not out.exists() and not list(tmp_path.glob(".out.vcf.gz*"))
    merge_vcfs([second, first], str(out), "none")  # allowed without an index


def test_merge_vcf_ignores_rnatools_header_lines(tmp_path):
    body = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    a, b = tmp_path / "a.vcf", tmp_path / "b.vcf"
    a.write_text(
        "##fileformat=VCFv4.2\n##rnatoolsCommand=--shard 1/2\n" + body + "1\t5\t.\tA\tG\t.\t.\t.\n"
    )
    b.write_text(
        "##fileformat=VCFv4.2\n##rnatoolsCommand=--shard 2/2\n" + body + "1\t9\t.\tA\tG\t.\t.\t."
    )
    out = tmp_path / "o.vcf"
    merge_vcfs([a, b], str(out))
    assert out.read_text().splitlines()[1:] == [
        "##rnatoolsCommand=--shard 1/2",
        body.rstrip(),
        "1\t5\t.\tA\tG\t.\t.\t.",
        "1\t9\t.\tA\tG\t.\t.\t.",
    ]


# --- tracks: predict's loop with a context-dependent stand-in model ----------------------------


class _ContextModel(SpliceModel):
    """(batch, L + 10000, 4) -> (batch, L, 3): base composition of each 10,001-nt window.

    Exact integer counts divided once, element by element: the output of a window does not
    depend on the batch it runs in, like SpliceAI's (checked bitwise on CPU), so any difference
    between sharded and one-shot output comes from the sharding.
    """

    name = "context-composition"
    context = 5000
    channels = ("A", "C", "G")
    acceptor_channel, donor_channel = 1, 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cumulative = torch.nn.functional.pad(x.double().cumsum(dim=1), (0, 0, 1, 0))
        counts = cumulative[:, 10_001:] - cumulative[:, :-10_001]
        return (counts[:, :, :3] / 10_001).float()


def _sequences() -> InMemorySequences:
    rng = np.random.default_rng(3)
    return InMemorySequences(
        [
            ("seqA", "".join(rng.choice(list("ACGT"), size=23_000))),
            ("seqB", "".join(rng.choice(list("ACGGT"), size=9_000))),
        ]
    )


INTERVALS = [
    Interval("seqA", 0, 23_000, "+"),
    Interval("seqB", 100, 8_900, "+"),
    Interval("seqA", 1_000, 15_000, "-"),
]


def _predict_like(output: Path, shard: Shard | None, chunk_size: int = 4_000) -> None:
    source = _sequences()
    intervals = shard_intervals(INTERVALS, shard, chunk_size)
    # As predict does: files only for the strands this run has (a shard may lack one).
    strands = [s for s in ("+", "-") if any(iv.strand == s for iv in intervals)]
    with open_track_writer(output, dict(source.lengths), strands) as writer:
        for track in predict_splice_sites(
            _ContextModel(),
            source,
            intervals,
            engine=Engine("cpu"),
            batch_size=3,
            chunk_size=chunk_size,
        ):
            writer.write(track.chrom, track.start, track.strand, track.acceptor, track.donor)


@pytest.mark.parametrize("suffix", [".tsv", ".tsv.gz"])
def test_merged_tsv_equals_one_shot_bytes(tmp_path, suffix):
    one_shot = tmp_path / f"one{suffix}"
    _predict_like(one_shot, None)
    shards = [tmp_path / f"part{k}{suffix}" for k in range(4)]
    for k, shard in enumerate(shards):
        _predict_like(shard, Shard(k, 4))
    merged = tmp_path / f"merged{suffix}"
    rows = merge_tables(shards, str(merged))
    assert rows == 23_000 + 8_800 + 14_000
    if suffix == ".tsv":
        assert merged.read_bytes() == one_shot.read_bytes()
    else:  # gzip's deflate stream depends on how writes were split; the table is equal
        assert gzip.decompress(merged.read_bytes()) == gzip.decompress(one_shot.read_bytes())


def _runs(bedgraph: bytes) -> list[tuple[bytes, int, int, bytes]]:
    """bedGraph lines with adjacent equal-valued lines joined (independent of write chunks)."""
    runs: list[tuple[bytes, int, int, bytes]] = []
    for line in bedgraph.splitlines():
        chrom, start, end, value = line.split(b"\t")
        last = runs[-1] if runs else None
        if last and last[0] == chrom and last[2] == int(start) and last[3] == value:
            runs[-1] = (chrom, last[1], int(end), value)
        else:
            runs.append((chrom, int(start), int(end), value))
    return runs


def test_merged_bedgraph_sets_equal_one_shot(tmp_path):
    _predict_like(tmp_path / "one.bedgraph", None)
    shards = [tmp_path / f"part{k}.bedgraph" for k in range(3)]
    for k, shard in enumerate(shards):
        _predict_like(shard, Shard(k, 3))
    assert not shards[0].exists()  # a set: part0.acceptor.plus.bedgraph ...
    assert not (tmp_path / "part0.acceptor.minus.bedgraph").exists()  # shard 1/3 has no '-'
    merge_bedgraphs(shards, str(tmp_path / "merged.bedgraph"))
    names = [f"{c}.{s}.bedgraph" for s in ("plus", "minus") for c in ("acceptor", "donor")]
    for name in names:
        merged = (tmp_path / f"merged.{name}").read_bytes()
        one_shot = (tmp_path / f"one.{name}").read_bytes()
        # predict's bedGraph writer starts a new line at each model chunk, and shards chunk
        # differently: the same nucleotides and values, runs split at other places.
        assert _runs(merged) == _runs(one_shot), name
        assert len(_runs(merged)) > 100


def test_merge_bedgraph_joins_runs_cut_at_a_seam(tmp_path):
    a, b, c = tmp_path / "a.bedgraph", tmp_path / "b.bedgraph", tmp_path / "c.bedgraph"
    a.write_text("track type=bedGraph\nc1\t0\t5\t0.5\nc1\t5\t9\t0.25\n")
    b.write_text("track type=bedGraph\nc1\t9\t12\t0.25\nc1\t12\t13\t0.25\n")
    c.write_text("c1\t13\t20\t0.75\nc2\t0\t1\t0.75\n")
    out = tmp_path / "o.bedgraph"
    assert merge_bedgraphs([a, b, c], str(out)) == 5
    # The seam a|b joins; the equal lines inside b stay as written; b|c differ in value.
    assert out.read_text() == (
        "track type=bedGraph\nc1\t0\t5\t0.5\nc1\t5\t12\t0.25\nc1\t12\t13\t0.25\n"
        "c1\t13\t20\t0.75\nc2\t0\t1\t0.75\n"
    )


def test_bedgraph_sets_to_bigwig_match_one_shot_bigwig(tmp_path):
    _predict_like(tmp_path / "one.bw", None)
    shards = [tmp_path / f"part{k}.bedgraph" for k in range(3)]
    for k, shard in enumerate(shards):
        _predict_like(shard, Shard(k, 3))
    sizes = dict(_sequences().lengths)
    written = bedgraphs_to_bigwig(shards, str(tmp_path / "m.bw"), sizes)
    assert written == 23_000 + 8_800 + 14_000
    for name in ("acceptor.plus", "donor.plus", "acceptor.minus", "donor.minus"):
        with (
            pyBigWig.open(str(tmp_path / f"m.{name}.bw")) as got,
            pyBigWig.open(str(tmp_path / f"one.{name}.bw")) as want,
        ):
            for chrom, size in sizes.items():
                merged = np.array(got.values(chrom, 0, size))
                one_shot = np.array(want.values(chrom, 0, size))
                covered = ~np.isnan(one_shot)
                assert np.array_equal(~np.isnan(merged), covered)
                # bedGraph holds 6 decimals (then stored as float32): equal within rounding.
                difference = np.abs(merged[covered] - one_shot[covered])
                assert np.all(difference <= 5.5e-7), (name, chrom)
    # The same through the command line.
    chrom_sizes = tmp_path / "sizes.txt"
    chrom_sizes.write_text("".join(f"{c}\t{n}\n" for c, n in sizes.items()))
    result = CliRunner().invoke(
        app,
        ["merge", "-o", str(tmp_path / "c.bw"), "--chrom-sizes", str(chrom_sizes)]
        + [str(shard) for shard in shards],
    )
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("c.*.bw"))) == 4


def test_merge_tables_header_rules(tmp_path):
    a, b, empty = tmp_path / "a.tsv", tmp_path / "b.tsv", tmp_path / "e.tsv"
    a.write_text("x\ty\n1\t2\n")
    b.write_text("x\ty\n3\t4")  # no final newline
    empty.write_text("")
    out = tmp_path / "o.tsv"
    assert merge_tables([a, empty, b], str(out)) == 2
    assert out.read_text() == "x\ty\n1\t2\n3\t4\n"
    b.write_text("x\tz\n3\t4\n")
    with pytest.raises(InputError, match="differs"):
        merge_tables([a, b], str(out))


def test_tables_to_bigwig_matches_predict_bigwig(tmp_path):
    # Values exact at 6 decimals, so the TSV round trip loses nothing.
    values = np.arange(12, dtype=np.float32) / 16
    sizes = {"c1": 100, "c2": 50}
    with open_track_writer(tmp_path / "one.bw", sizes, ("+", "-")) as writer:
        writer.write("c1", 10, "+", values[:6], values[6:])
        writer.write("c1", 30, "+", values[6:], values[:6])
        writer.write("c2", 0, "-", values[:6], values[:6])
    with open_track_writer(tmp_path / "a.tsv", sizes, ("+", "-")) as writer:
        writer.write("c1", 10, "+", values[:6], values[6:])
    with open_track_writer(tmp_path / "b.tsv", sizes, ("+", "-")) as writer:
        writer.write("c1", 30, "+", values[6:], values[:6])
        writer.write("c2", 0, "-", values[:6], values[:6])
    chrom_sizes = tmp_path / "sizes.txt"
    chrom_sizes.write_text("c1\t100\nc2\t50\n")
    rows = tables_to_bigwig(
        [tmp_path / "a.tsv", tmp_path / "b.tsv"],
        str(tmp_path / "m.bw"),
        read_chrom_sizes(chrom_sizes),
    )
    assert rows == 18
    for name in ("acceptor.plus", "donor.plus", "acceptor.minus", "donor.minus"):
        with (
            pyBigWig.open(str(tmp_path / f"m.{name}.bw")) as got,
            pyBigWig.open(str(tmp_path / f"one.{name}.bw")) as want,
        ):
            assert got.chroms() == want.chroms()
            for chrom, size in sizes.items():
                assert np.array_equal(
                    np.nan_to_num(got.values(chrom, 0, size), nan=-1),
                    np.nan_to_num(want.values(chrom, 0, size), nan=-1),
                ), (name, chrom)


# --- command line ------------------------------------------------------------------------------


def test_cli_merge_vcf_and_exit_codes(tmp_path, vcf_input):
    runner = CliRunner()
    shards = [tmp_path / "a.vcf", tmp_path / "b.vcf"]
    for k, shard in enumerate(shards):
        _annotate_like(vcf_input, shard, Shard(k, 2))
    one_shot = tmp_path / "one.vcf"
    _annotate_like(vcf_input, one_shot, None)
    result = runner.invoke(app, ["merge", "-o", str(tmp_path / "m.vcf.gz"), *map(str, shards)])
    assert result.exit_code == 0, result.output
    assert gzip.decompress((tmp_path / "m.vcf.gz").read_bytes()) == one_shot.read_bytes()
    assert (tmp_path / "m.vcf.gz.tbi").is_file()
    result = runner.invoke(app, ["merge", *map(str, shards)])  # -o - : stdout
    assert result.exit_code == 0
    assert result.stdout.encode() == one_shot.read_bytes()
    # Usage errors exit 2, data errors 1.
    tsv = tmp_path / "t.tsv"
    tsv.write_text("chrom\tstart\tend\tstrand\tacceptor\tdonor\n")
    assert runner.invoke(app, ["merge", str(shards[0]), str(tsv)]).exit_code == 2
    assert runner.invoke(app, ["merge", "-o", str(tmp_path / "x.bw"), str(tsv)]).exit_code == 2
    assert (
        runner.invoke(app, ["merge", "-o", str(tmp_path / "x.tsv"), str(shards[0])]).exit_code == 2
    )
    result = runner.invoke(app, ["merge", "-o", str(tmp_path / "y.vcf"), str(tmp_path / "no.vcf")])
    assert result.exit_code == 1
    assert "no.vcf" in result.output


def test_cli_merge_tsv_to_bigwig_with_fai(tmp_path):
    fai = EXAMPLE / "GRCh38.chr17.brca1.fa.gz.fai"
    assert read_chrom_sizes(fai) == {"chr17": 83_257_441}
    tsv = tmp_path / "p.tsv"
    tsv.write_text(
        "chrom\tstart\tend\tstrand\tacceptor\tdonor\n"
        "chr17\t100\t101\t-\t0.500000\t0.250000\nchr17\t101\t102\t-\t0.125000\t0.000000\n"
    )
    result = CliRunner().invoke(
        app, ["merge", "-o", str(tmp_path / "m.bw"), "--chrom-sizes", str(fai), str(tsv)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("m.*.bw")) == [
        "m.acceptor.minus.bw",
        "m.donor.minus.bw",
    ]
    with pyBigWig.open(str(tmp_path / "m.acceptor.minus.bw")) as bigwig:
        assert bigwig.values("chr17", 100, 102) == [0.5, 0.125]


def test_records_pass_through_unchanged_text(vcf_input):
    # iter_records is the same stream select_records wraps (guards the drop-in promise).
    with open_vcf(vcf_input) as a, open_vcf(vcf_input) as b:
        assert [str(r) for r in iter_records(a, vcf_input)] == [
            str(r) for r in select_records(b, vcf_input)
        ]


# --- the real commands (run once annotate/predict take --shard) -------------------------------

FASTA = EXAMPLE / "GRCh38.chr17.brca1.fa.gz"


@pytest.fixture
def keep_torch_threads():
    """The commands run in-process with --threads 1; give later tests their threads back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _needs_spliceai() -> None:
    from rnatools.models.spliceai_weights import installed_weights

    if installed_weights() is None:
        pytest.skip("needs the SpliceAI weights: pip install 'rnatools[spliceai]'")


@pytest.mark.slow
@pytest.mark.weights
def test_annotate_shards_merge_to_one_shot_bytes(tmp_path, keep_torch_threads):
    _needs_spliceai()
    complement = {"A": "G", "C": "T", "G": "A", "T": "C"}
    rows = []
    with pysam.FastaFile(str(FASTA)) as fasta:  # ATP6V0A1, G6PC, BRCA1, NBR1 + intergenic
        for pos1 in (42_430_000, 42_460_000, 42_900_900, 43_100_000, 43_200_000, 43_590_000):
            ref = fasta.fetch("chr17", pos1 - 1, pos1)
            rows.append(f"chr17\t{pos1}\t.\t{ref}\t{complement[ref]}\t.\t.\t.\n")
    vcf = tmp_path / "in.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=83257441>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(rows)
    )
    common = ["-i", str(vcf), "-f", str(FASTA), "-a", "grch38", "--device", "cpu", "--threads", "1"]
    runner = CliRunner()
    one_shot = tmp_path / "one.vcf.gz"
    assert runner.invoke(app, ["annotate", *common, "-o", str(one_shot)]).exit_code == 0
    shards = [tmp_path / f"part{k}.vcf.gz" for k in (1, 2)]
    for k, shard in enumerate(shards, start=1):
        result = runner.invoke(app, ["annotate", *common, "-o", str(shard), "--shard", f"{k}/2"])
        assert result.exit_code == 0, result.output
    merge_vcfs(shards, str(tmp_path / "merged.vcf.gz"), "none")
    assert (tmp_path / "merged.vcf.gz").read_bytes() == one_shot.read_bytes()
    assert gzip.decompress(one_shot.read_bytes()).count(b"SpliceAI=") == 4  # scored records


@pytest.mark.slow
@pytest.mark.weights
def test_predict_shards_merge_to_one_shot_bytes(tmp_path, keep_torch_threads):
    _needs_spliceai()
    # 1,500 nt of BRCA1 in chunks of 500: shard 1/2 computes two chunks, shard 2/2 one.
    common = [
        "--fasta",
        str(FASTA),
        "--region",
        "chr17:43044295-43045794",
        "--strand",
        "-",
        "--chunk-size",
        "500",
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
    runner = CliRunner()
    one_shot = tmp_path / "one.tsv"
    assert runner.invoke(app, ["predict", *common, "-o", str(one_shot)]).exit_code == 0
    shards = [tmp_path / f"part{k}.tsv" for k in (1, 2)]
    for k, shard in enumerate(shards, start=1):
        result = runner.invoke(app, ["predict", *common, "-o", str(shard), "--shard", f"{k}/2"])
        assert result.exit_code == 0, result.output
    assert merge_tables(shards, str(tmp_path / "merged.tsv")) == 1500
    assert (tmp_path / "merged.tsv").read_bytes() == one_shot.read_bytes()

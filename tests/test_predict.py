"""rnatools predict: per-nucleotide SpliceAI tracks against the Keras oracle, properties, formats.

The genomic FASTAs of these tests are built from the Keras oracle's 15,000-nt sequences, so the
Keras outputs over [5000, 10000) of each contig are the expected values of ``rnatools predict``
over that interval (real flanks, no N). Most tests use ``tests/data/predict`` (one oracle sequence,
see its PROVENANCE.md) and one network (``--weights spliceai1.h5``) to stay fast; the properties
do not depend on the ensemble size. The full-ensemble test reads shared/fixtures.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyBigWig
import pytest
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.engine import Engine
from rnatools.errors import InputError
from rnatools.genome import Interval
from rnatools.io.fasta import Fasta
from rnatools.models.spliceai import SpliceAIModel, installed_weights
from rnatools.scoring import splice_sites
from rnatools.scoring.splice_sites import predict_splice_sites
from rnatools.sequence import reverse_complement

pytestmark = pytest.mark.skipif(
    installed_weights() is None, reason="the spliceai distribution (official weights) is missing"
)
ATOL = 1e-5
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "brca1"


@pytest.fixture(scope="module")
def rand2(test_data: Path):
    """Oracle sequence rand2 (exons inside) with spliceai1 and ensemble outputs on [5000, 10000)."""
    return np.load(test_data / "predict" / "spliceai_oracle_rand2.npz")


@pytest.fixture(scope="module")
def net1_path() -> Path:
    return installed_weights()[0]


@pytest.fixture(scope="module")
def net1(net1_path):
    return SpliceAIModel([net1_path])


def write_fasta(path: Path, contigs: dict[str, str]) -> Path:
    with open(path, "w") as handle:
        for name, sequence in contigs.items():
            handle.write(f">{name}\n")
            for i in range(0, len(sequence), 60):
                handle.write(sequence[i : i + 60] + "\n")
    return path


@pytest.fixture(scope="module")
def genome(rand2, tmp_path_factory) -> Path:
    """rand2: the oracle's 15,000-nt sequence; gene_rc: its reverse complement;
    piece: rand2[6000:8000]; gene_npad: piece with 5,000 N on each side."""
    contigs = {"rand2": str(rand2["seq"])}
    contigs["gene_rc"] = reverse_complement(contigs["rand2"])
    contigs["piece"] = contigs["rand2"][6000:8000]
    contigs["gene_npad"] = "N" * 5000 + contigs["piece"] + "N" * 5000
    return write_fasta(tmp_path_factory.mktemp("genome") / "genome.fa", contigs)


def invoke(*args: str):
    return CliRunner().invoke(app, ["predict", *args])


def read_tsv(text: str) -> tuple[list[str], np.ndarray]:
    lines = text.splitlines()
    rows = [line.split("\t") for line in lines[1:]]
    return lines[0].split("\t"), np.array(rows, dtype=object).reshape(len(rows), 6)


def track(model, source, interval, **kwargs) -> np.ndarray:
    """``(length, 2)`` acceptor/donor of one stranded interval, chunks concatenated."""
    kwargs.setdefault("engine", Engine("cpu"))
    parts = list(predict_splice_sites(model, source, [interval], **kwargs))
    assert parts[0].start == interval.start and parts[-1].end == interval.end
    return np.concatenate([np.stack([p.acceptor, p.donor], axis=1) for p in parts])


# -- Done-when: rnatools predict reproduces the Keras ensemble -------------------------------------


@pytest.mark.weights
@pytest.mark.slow
def test_predict_reproduces_the_keras_ensemble_mean(fixtures_dir, tmp_path):
    oracle = np.load(fixtures_dir / "spliceai_keras_oracle.npz")
    contigs = {f"rand{i}": str(s) for i, s in enumerate(oracle["seqs_rand"])}
    contigs["seqN"] = str(oracle["seq_N"])  # N runs, lower case
    genome = write_fasta(tmp_path / "oracle.fa", contigs)
    bed = tmp_path / "middle.bed"
    names = ["rand0", "rand1", "rand2", "rand3", "seqN"]
    bed.write_text("".join(f"{name}\t5000\t10000\t{name}\t0\t+\n" for name in names))
    out = tmp_path / "tracks.tsv"
    result = invoke("-f", str(genome), "--bed", str(bed), "-o", str(out),
                    "--chunk-size", "5000", "--batch-size", "2", "--device", "cpu")
    assert result.exit_code == 0, result.output
    header, rows = read_tsv(out.read_text())
    assert header == ["chrom", "start", "end", "strand", "acceptor", "donor"]
    assert len(rows) == 5 * 5000
    expected = np.concatenate([oracle["y_rand_mean"], oracle["y_N_mean"]])  # (5, 5000, 3)
    for index, name in enumerate(names):
        block = rows[index * 5000 : (index + 1) * 5000]
        assert set(block[:, 0]) == {name} and set(block[:, 3]) == {"+"}
        assert block[:, 1].astype(int).tolist() == list(range(5000, 10000))
        assert (block[:, 2].astype(int) - block[:, 1].astype(int) == 1).all()
        probabilities = block[:, 4:6].astype(np.float64)
        assert np.abs(probabilities - expected[index, :, 1:3]).max() <= ATOL, name


# -- Properties ------------------------------------------------------------------------------------


@pytest.mark.weights
def test_minus_strand_is_the_plus_strand_of_the_reverse_complement(rand2, genome, net1):
    with Fasta(genome) as fasta:
        plus = track(net1, fasta, Interval("rand2", 6300, 7900, "+"))
        minus = track(net1, fasta, Interval("gene_rc", 15000 - 7900, 15000 - 6300, "-"))
    assert np.abs(minus[::-1] - plus).max() <= 1e-6
    # Both are the Keras network 1 on rand2, and the region holds real splice sites.
    expected = rand2["y_spliceai1"][1300:2900, 1:3]
    assert np.abs(plus - expected).max() <= ATOL
    assert plus[6344 - 6300, 0] > 0.5 and plus[6471 - 6300, 1] > 0.5


@pytest.mark.weights
def test_chunk_and_batch_size_do_not_change_the_result(genome, net1):
    interval = Interval("rand2", 6800, 7600, "-")
    with Fasta(genome) as fasta:
        reference = track(net1, fasta, interval, chunk_size=800, batch_size=1)
        for chunk_size, batch_size in [(333, 2), (200, 4), (5000, 8)]:
            other = track(net1, fasta, interval, chunk_size=chunk_size, batch_size=batch_size)
            assert np.abs(other - reference).max() <= 1e-6, (chunk_size, batch_size)


@pytest.mark.weights
def test_past_contig_ends_is_the_same_as_explicit_n(genome, net1):
    with Fasta(genome) as fasta:
        padded_start = track(net1, fasta, Interval("gene_npad", 5000, 5300, "+"))
        padded_end = track(net1, fasta, Interval("gene_npad", 6700, 7000, "-"))
        at_start = track(net1, fasta, Interval("piece", 0, 300, "+"))
        at_end = track(net1, fasta, Interval("piece", 1700, 2000, "-"))
    assert np.abs(at_start - padded_start).max() <= 1e-6
    assert np.abs(at_end - padded_end).max() <= 1e-6


def _rand2_piece(genome: Path) -> str:
    with Fasta(genome) as fasta:
        return fasta.fetch("piece", 0, 2000)


@pytest.mark.weights
def test_sequences_get_5000_n_per_side(genome, net1_path, tmp_path):
    records = tmp_path / "plain.fa"
    records.write_text(f">piece some description\n{_rand2_piece(genome).lower()}\n")
    result = invoke("--sequences", str(records), "--weights", str(net1_path), "--device", "cpu")
    assert result.exit_code == 0, result.output
    _, rows = read_tsv(result.stdout)
    assert len(rows) == 2000 and set(rows[:, 0]) == {"piece"} and set(rows[:, 3]) == {"+"}
    assert rows[0, 1] == "0" and rows[-1, 2] == "2000"
    with Fasta(genome) as fasta:
        expected = track(SpliceAIModel([net1_path]), fasta, Interval("gene_npad", 5000, 7000, "+"))
    assert np.abs(rows[:, 4:6].astype(np.float64) - expected).max() <= 1e-6
    assert expected[:, 0].max() > 0.4  # the acceptor at rand2:6344 survives the N padding


# -- Output formats --------------------------------------------------------------------------------


@pytest.mark.weights
def test_bigwig_bedgraph_and_tsv_agree(genome, net1_path, tmp_path):
    common = ["-f", str(genome), "--region", "rand2:6301-6500", "--strand", "both",
              "--weights", str(net1_path), "--device", "cpu"]
    result = invoke(*common, "-o", str(tmp_path / "t.tsv.gz"))
    assert result.exit_code == 0, result.output
    with gzip.open(tmp_path / "t.tsv.gz", "rt") as handle:
        header, rows = read_tsv(handle.read())
    assert header == ["chrom", "start", "end", "strand", "acceptor", "donor"]
    assert rows[:, 3].tolist() == ["+"] * 200 + ["-"] * 200
    assert result.exit_code == 0
    assert invoke(*common, "-o", str(tmp_path / "t.bw")).exit_code == 0
    assert invoke(*common, "-o", str(tmp_path / "t.bedgraph")).exit_code == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [f"t.{c}.{s}.{ext}" for c in ("acceptor", "donor") for s in ("plus", "minus")
         for ext in ("bw", "bedgraph")] + ["t.tsv.gz"]
    )
    with Fasta(genome) as fasta:
        lengths = fasta.lengths
    for strand_index, (strand, strand_name) in enumerate([("+", "plus"), ("-", "minus")]):
        block = rows[strand_index * 200 : (strand_index + 1) * 200]
        for channel_index, channel in enumerate(("acceptor", "donor")):
            expected = block[:, 4 + channel_index].astype(np.float64)
            bw = pyBigWig.open(str(tmp_path / f"t.{channel}.{strand_name}.bw"))
            assert bw.chroms() == lengths
            values = np.array(bw.values("rand2", 6300, 6500))
            bw.close()
            assert np.abs(values - expected).max() <= 6e-7
            graph = np.full(200, np.nan)
            for line in (tmp_path / f"t.{channel}.{strand_name}.bedgraph").read_text().splitlines():
                chrom, start, end, value = line.split("\t")
                assert chrom == "rand2"
                graph[int(start) - 6300 : int(end) - 6300] = float(value)
            assert np.abs(graph - expected).max() <= 1e-12
        assert block[:, 4:6].astype(float).max() > (0.5 if strand == "+" else 0.0)


@pytest.mark.weights
def test_bedgraph_does_not_depend_on_chunk_size(genome, net1_path, tmp_path):
    # A run of equal printed values that spans two model chunks is one line, so the bytes are the
    # same whatever --chunk-size is (and sharded outputs concatenate to the unsharded one).
    common = ["-f", str(genome), "--region", "rand2:6001-7000", "--strand", "+",
              "--weights", str(net1_path), "--device", "cpu"]
    for chunk_size in ("100", "20000"):
        out = tmp_path / chunk_size / "t.bedgraph"
        out.parent.mkdir()
        result = invoke(*common, "--chunk-size", chunk_size, "-o", str(out))
        assert result.exit_code == 0, result.output
    for channel in ("acceptor", "donor"):
        small = (tmp_path / "100" / f"t.{channel}.plus.bedgraph").read_text()
        large = (tmp_path / "20000" / f"t.{channel}.plus.bedgraph").read_text()
        assert small == large
        lines = [line.split("\t") for line in small.splitlines()]
        assert int(lines[0][1]) == 6000 and int(lines[-1][2]) == 7000
        assert all(a[2] == b[1] for a, b in zip(lines, lines[1:], strict=False))
        assert all(a[3] != b[3] for a, b in zip(lines, lines[1:], strict=False))  # runs merged
        assert len(lines) < 1000


@pytest.mark.weights
def test_bf16_is_close_to_fp32(genome, net1_path):
    common = ["-f", str(genome), "--region", "rand2:6301-6500", "--strand", "+",
              "--weights", str(net1_path), "--device", "cpu"]
    fp32 = invoke(*common)
    bf16 = invoke(*common, "--precision", "bf16")
    assert fp32.exit_code == 0 and bf16.exit_code == 0, bf16.output
    difference = read_tsv(fp32.stdout)[1][:, 4:6].astype(float) - read_tsv(bf16.stdout)[1][
        :, 4:6
    ].astype(float)
    assert 0 < np.abs(difference).max() <= 0.05


@pytest.mark.weights
def test_min_score_keeps_only_splice_sites(rand2, genome, net1_path, tmp_path):
    out = tmp_path / "sites.tsv"
    result = invoke("-f", str(genome), "--region", "rand2:6301-7900", "--strand", "+",
                    "--min-score", "0.5", "--weights", str(net1_path), "-o", str(out))
    assert result.exit_code == 0, result.output
    _, rows = read_tsv(out.read_text())
    expected = rand2["y_spliceai1"][1300:2900, 1:3]
    keep = np.flatnonzero((expected >= 0.5).any(axis=1)) + 6300
    assert rows[:, 1].astype(int).tolist() == keep.tolist()
    assert len(keep) >= 3


# -- Errors and exit codes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "exactly one of"),
        (["--region", "rand2:1-10", "--bed", "x.bed"], 2, "exactly one of"),
        (["--region", "rand2:1-10"], 2, "needs --fasta"),
        (["--region", "rand2:10-1", "-f", "GENOME"], 2, "start <= end"),
        (["--region", "rand2", "-f", "GENOME"], 2, "chrom:start-end"),
        (["--region", "chrX:1-10", "-f", "GENOME"], 1, "contig 'chrX' not found"),
        (["--region", "rand2:14990-15001", "-f", "GENOME"], 1, "past the end"),
        (["--region", "rand2:1-10", "-f", "GENOME", "-o", "out.xyz"], 2, "unknown output format"),
        (["--region", "rand2:1-10", "-f", "GENOME", "--weights", "/nonexistent"], 3, "pip install"),
        (["--region", "rand2:1-10", "-f", "GENOME", "--device", "tpu"], 2, "--device"),
        (["--region", "rand2:1-10", "-f", "GENOME", "--device", "cpu", "--precision", "fp16"], 2,
         "fp16 needs a CUDA device"),
        (["--sequences", "GENOME", "-f", "GENOME"], 2, "drop --fasta"),
        (["--region", "rand2:1-10", "-f", "GENOME", "--genes", "BRCA1"], 2, "--genes needs"),
        (["--bed", "missing.bed", "-f", "GENOME"], 1, "missing.bed"),
        # issue 15 (items 10, 14): one exit code (4, I/O) for an output folder that does not exist
        (["--region", "rand2:1-10", "-f", "GENOME", "-o", "no/such/dir/x.bw"], 4, "does not exist"),
    ],
)
def test_errors_exit_with_one_line(genome, tmp_path, monkeypatch, args, code, message):
    monkeypatch.chdir(tmp_path)
    args = [str(genome) if a == "GENOME" else a for a in args]
    result = invoke(*args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not any(p.suffix in (".xyz", ".tsv") for p in tmp_path.iterdir())


@pytest.mark.parametrize("name", ["partial.tsv", "partial.bw", "partial.bedgraph.gz"])
def test_no_partial_output_on_error(genome, net1_path, tmp_path, monkeypatch, name):
    real = splice_sites.predict_splice_sites

    def fails_after_one_chunk(*args, **kwargs):
        for count, chunk in enumerate(real(*args, **kwargs)):
            if count == 1:
                raise InputError("simulated failure")
            yield chunk

    monkeypatch.setattr(splice_sites, "predict_splice_sites", fails_after_one_chunk)
    out = tmp_path / "out"
    out.mkdir()
    result = invoke("-f", str(genome), "--region", "rand2:6301-6500", "--chunk-size", "100",
                    "--weights", str(net1_path), "-o", str(out / name))
    assert result.exit_code == 1
    assert "simulated failure" in result.stderr
    assert list(out.iterdir()) == []


# -- Done-when: BRCA1 canonical splice sites -------------------------------------------------------


@pytest.mark.weights
@pytest.mark.slow
def test_brca1_canonical_splice_sites_score_high(tmp_path):
    """>= 80% of BRCA1's canonical internal splice sites score >= 0.5 at the exact nucleotide.

    SpliceAI's labels, in transcript orientation: acceptor = first nucleotide of an exon, donor =
    last nucleotide of an exon. BRCA1 is on '-', so an exon [start, end) (0-based, genomic) has its
    first transcribed nucleotide at ``end - 1`` (acceptor) and its last at ``start`` (donor). The
    first exon has no acceptor and the last no donor (transcript ends, not splice sites).
    """
    fasta = EXAMPLES / "GRCh38.chr17.brca1.fa.gz"
    gtf = EXAMPLES / "brca1.gtf"
    if not (fasta.is_file() and gtf.is_file()):
        pytest.skip("examples/brca1 is missing")
    from rnatools.io.gtf import canonical_transcript, read_genes

    (gene,) = [g for g in read_genes(gtf) if g.gene_name == "BRCA1"]
    transcript = canonical_transcript(gene)
    assert transcript.strand == "-" and len(transcript.exons) >= 20
    exons = sorted(transcript.exons, reverse=True)  # transcript order on '-'
    acceptors = [end - 1 for _, end in exons[1:]]
    donors = [start for start, _ in exons[:-1]]

    prefix = tmp_path / "brca1.bw"
    result = invoke("-f", str(fasta), "--gtf", str(gtf), "--genes", "BRCA1", "-o", str(prefix),
                    "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "brca1.acceptor.minus.bw", "brca1.donor.minus.bw"
    ]
    scores = {}
    for channel in ("acceptor", "donor"):
        bw = pyBigWig.open(str(tmp_path / f"brca1.{channel}.minus.bw"))
        scores[channel] = np.array(bw.values("chr17", gene.start, gene.end))
        bw.close()
    hits = [scores["acceptor"][p - gene.start] >= 0.5 for p in acceptors]
    hits += [scores["donor"][p - gene.start] >= 0.5 for p in donors]
    assert sum(hits) / len(hits) >= 0.8, (sum(hits), len(hits))
    # The wrong channel at those nucleotides stays low: the labels are not swapped.
    swapped = [scores["donor"][p - gene.start] >= 0.5 for p in acceptors]
    assert sum(swapped) == 0


# -- Command line: defaults and help ---------------------------------------------------------------


def test_cli_chunk_size_default_is_the_library_constant():
    from rnatools.cli import predict as cli_predict

    assert cli_predict.DEFAULT_CHUNK_SIZE == splice_sites.DEFAULT_CHUNK_SIZE


def test_help_tells_region_from_regions():
    result = invoke("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "An interval to predict" in text and "Not an interval to predict" in text
    assert "VCF" not in text


@pytest.mark.weights
def test_pipeline_returns_and_cli_lists_the_files_written(genome, net1_path, tmp_path):
    from rnatools.pipelines.predict import PredictSettings, run_predict

    settings = PredictSettings(output=str(tmp_path / "t.bw"), fasta=genome,
                               region=("rand2:6301-6400",), weights=net1_path, device="cpu")
    summary = run_predict(settings)
    assert summary.files == tuple(
        tmp_path / f"t.{channel}.{strand}.bw"
        for strand in ("plus", "minus") for channel in ("acceptor", "donor")
    )
    assert sorted(tmp_path.iterdir()) == sorted(summary.files)
    assert (summary.nucleotides, summary.strands, summary.device) == (200, ("+", "-"), "cpu")
    out = tmp_path / "cli" / "u.bedgraph"
    out.parent.mkdir()
    result = invoke("-f", str(genome), "--region", "rand2:6301-6400", "--strand", "-",
                    "--weights", str(net1_path), "--device", "cpu", "-o", str(out))
    assert result.exit_code == 0, result.output
    logged = "".join(result.stderr.split())
    assert "wrote" in logged
    for channel in ("acceptor", "donor"):
        assert f"u.{channel}.minus.bedgraph" in logged

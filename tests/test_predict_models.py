"""``rnatools predict --model``: OpenSpliceAI-MANE and Pangolin tracks against their oracles.

OpenSpliceAI: ``osai{F}_predict_*`` are outputs of ``openspliceai.predict.predict()`` (F/2 N per
side, windows of 5000 + F; README of ``$RNATOOLS_TEST_FIXTURES/openspliceai``), which is what
``--sequences`` does with the model's context. Pangolin: the per-tissue P(splice) means of
``$RNATOOLS_TEST_FIXTURES/pangolin``. Weights from ``$RNATOOLS_TEST_WEIGHTS``. Tolerance 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyBigWig
import pytest
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.engine import Engine
from rnatools.errors import UsageError
from rnatools.genome import Interval
from rnatools.models.registry import load_model
from rnatools.pipelines.predict import PredictSettings, run_predict
from rnatools.scoring.splice_sites import InMemorySequences, predict_tracks, track_channels

ATOL = 1e-5
PANGOLIN_CHANNELS = (
    "heart_psplice",
    "heart_usage",
    "liver_psplice",
    "liver_usage",
    "brain_psplice",
    "brain_usage",
    "testis_psplice",
    "testis_usage",
    "max_psplice",
)


def write_fasta(path: Path, records: dict[str, str]) -> Path:
    with open(path, "w") as handle:
        for name, sequence in records.items():
            handle.write(f">{name}\n{sequence}\n")
    return path


def read_bigwig(path: Path, chrom: str) -> np.ndarray:
    with pyBigWig.open(str(path)) as bigwig:
        return np.asarray(bigwig.values(chrom, 0, bigwig.chroms(chrom)), dtype=np.float32)


@pytest.fixture(scope="module")
def weights(weights_dir: Path) -> Path:
    for name in ("openspliceai_mane", "pangolin"):
        if not (weights_dir / name).is_dir():
            pytest.skip(f"{weights_dir / name} is missing")
    return weights_dir


@pytest.fixture(scope="module")
def osai_oracle(fixtures_dir: Path):
    return np.load(fixtures_dir / "openspliceai" / "openspliceai_mane_oracle.npz")


@pytest.fixture(scope="module")
def pangolin_oracle(fixtures_dir: Path):
    return np.load(fixtures_dir / "pangolin" / "pangolin_oracle.npz")


@pytest.mark.weights
@pytest.mark.slow
@pytest.mark.parametrize("flank", [80, 400, 2000, 10_000])
def test_openspliceai_predict_matches_its_predict_pipeline(weights, osai_oracle, tmp_path, flank):
    records = {"odd": str(osai_oracle["seq_odd"])}
    brca = f"osai{flank}_predict_brca" in osai_oracle.files
    if brca:
        records["brca"] = str(osai_oracle["seq_brca"][0])
    fasta = write_fasta(tmp_path / "in.fa", records)
    name = "openspliceai-mane" if flank == 10_000 else f"openspliceai-mane-{flank}"
    summary = run_predict(
        PredictSettings(
            output=str(tmp_path / "p.bw"),
            sequences=fasta,
            strand="both" if brca else "+",
            model=name,
            weights=weights / "openspliceai_mane",
            device="cpu",
            chunk_size=7000,
            batch_size=2,
        )
    )
    assert summary.channels == ("acceptor", "donor")
    for channel, column in (("acceptor", 1), ("donor", 2)):
        odd = read_bigwig(tmp_path / f"p.{channel}.plus.bw", "odd")
        assert np.abs(odd - osai_oracle[f"osai{flank}_predict_odd"][:, column]).max() <= ATOL
        if brca:
            expected = osai_oracle[f"osai{flank}_predict_brca"]
            plus = read_bigwig(tmp_path / f"p.{channel}.plus.bw", "brca")
            assert np.abs(plus - expected[0, :, column]).max() <= ATOL
            # the minus strand is the reverse complement, written in genome order
            minus = read_bigwig(tmp_path / f"p.{channel}.minus.bw", "brca")
            assert np.abs(minus[::-1] - expected[1, :, column]).max() <= ATOL
    if brca:  # BRCA1 exon 2's acceptor (43,124,115 = slice index 7502 on the minus strand)
        assert read_bigwig(tmp_path / "p.acceptor.minus.bw", "brca")[15_000 - 1 - 7502] > 0.9


@pytest.mark.weights
@pytest.mark.slow
def test_pangolin_predict_writes_tissue_channels(weights, pangolin_oracle, tmp_path):
    fasta = write_fasta(tmp_path / "in.fa", {"brca": str(pangolin_oracle["seq_brca"][0])})
    out = tmp_path / "p.tsv"
    result = CliRunner().invoke(
        app,
        ["predict", "--sequences", str(fasta), "--strand", "both", "--model", "pangolin",
         "--weights", str(weights / "pangolin"), "--device", "cpu", "-o", str(out),
         "--chunk-size", "15000"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].split("\t") == ["chrom", "start", "end", "strand", *PANGOLIN_CHANNELS]
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) == 2 * 15_000
    values = np.array([row[4:] for row in rows], dtype=np.float64).reshape(2, 15_000, 9)
    assert [rows[0][3], rows[15_000][3]] == ["+", "-"]
    expected = pangolin_oracle["pang_brca_tissue_psplice_mean"]  # (tissue, strand, 5000)
    plus = values[0, 5000:10_000, [0, 2, 4, 6]]
    minus = values[1, 5000:10_000][::-1][:, [0, 2, 4, 6]].T  # rc output j = genome 9999 - j
    assert np.abs(plus - expected[:, 0]).max() <= ATOL
    assert np.abs(minus - expected[:, 1]).max() <= ATOL
    assert np.allclose(values[..., 8], values[..., [0, 2, 4, 6]].max(axis=-1), atol=1.5e-6)
    assert values[1, 15_000 - 1 - 7502, 8] > 0.7  # BRCA1 exon 2's acceptor


@pytest.mark.weights
@pytest.mark.parametrize("name", ["pangolin", "openspliceai-mane-400"])
def test_chunk_and_batch_size_do_not_change_the_tracks(weights, pangolin_oracle, name):
    folder = weights / ("pangolin" if name == "pangolin" else "openspliceai_mane")
    model = load_model(name, folder, engine=Engine("cpu"))
    source = InMemorySequences([("brca", str(pangolin_oracle["seq_brca"][0]))])
    interval = Interval("brca", 7300, 7900, "-")  # BRCA1 exon 2

    def run(chunk_size: int, batch_size: int) -> np.ndarray:
        tracks = predict_tracks(
            model, source, [interval], engine=Engine("cpu"), chunk_size=chunk_size,
            batch_size=batch_size,
        )  # fmt: skip
        return np.concatenate([track.values for track in tracks])

    reference = run(600, 1)
    assert reference.shape == (600, len(track_channels(model)[0]))
    sizes = [(256, 3)] if name == "pangolin" else [(256, 2), (199, 4)]  # 12 networks: fewer
    for chunk_size, batch_size in sizes:
        assert np.abs(run(chunk_size, batch_size) - reference).max() <= 1e-6
    assert reference.max() > 0.5  # exon 2's splice sites are in there


def test_unknown_or_language_model_is_refused(tmp_path):
    fasta = write_fasta(tmp_path / "in.fa", {"s": "ACGT" * 10})
    for name in ("splicebert", "nosuchmodel"):
        with pytest.raises(UsageError, match="unknown splice-site model") as info:
            run_predict(PredictSettings(sequences=fasta, model=name))
        assert info.value.parameter == "model"
    result = CliRunner().invoke(app, ["predict", "--help"], terminal_width=200)
    text = " ".join(result.stdout.split())
    assert "openspliceai-mane-80|400|2000|10000 or pangolin" in text
    assert "heart_psplice" in text and "max_psplice" in text

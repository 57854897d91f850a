"""``rnatools embed``, ``mlm`` and ``ism`` end to end (CliRunner), on a tiny random checkpoint.

The checkpoint is written at run time in the original SpliceBERT layout (config.json, vocab.txt,
pytorch_model.bin with Hugging Face BERT key names), so these tests need no shared files; its
numbers are checked against the library functions, which the parity tests check against the
reference implementations.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.models.lm import load_lm
from rnatools.scoring.zero_shot import score_snvs
from rnatools.sequence import reverse_complement

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "N", "A", "C", "G", "T"]
HIDDEN, LAYERS, FFN, POSITIONS = 16, 1, 32, 130  # max 128 nt


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_splicebert")
    generator = torch.Generator().manual_seed(7)

    def tensor(*shape, scale=0.5):
        return torch.randn(*shape, generator=generator) * scale

    state = {
        "bert.embeddings.position_ids": torch.arange(POSITIONS)[None],
        "bert.embeddings.word_embeddings.weight": tensor(10, HIDDEN),
        "bert.embeddings.position_embeddings.weight": tensor(POSITIONS, HIDDEN),
        "bert.embeddings.token_type_embeddings.weight": tensor(2, HIDDEN),
        "bert.embeddings.LayerNorm.weight": 1 + tensor(HIDDEN, scale=0.1),
        "bert.embeddings.LayerNorm.bias": tensor(HIDDEN, scale=0.1),
    }
    for layer in range(LAYERS):
        prefix = f"bert.encoder.layer.{layer}."
        for name in (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ):
            state[prefix + name + ".weight"] = tensor(HIDDEN, HIDDEN, scale=0.8)
            state[prefix + name + ".bias"] = tensor(HIDDEN, scale=0.1)
        state[prefix + "intermediate.dense.weight"] = tensor(FFN, HIDDEN, scale=0.3)
        state[prefix + "intermediate.dense.bias"] = tensor(FFN, scale=0.1)
        state[prefix + "output.dense.weight"] = tensor(HIDDEN, FFN, scale=0.2)
        state[prefix + "output.dense.bias"] = tensor(HIDDEN, scale=0.1)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            state[prefix + name + ".weight"] = 1 + tensor(HIDDEN, scale=0.1)
            state[prefix + name + ".bias"] = tensor(HIDDEN, scale=0.1)
    state["cls.predictions.transform.dense.weight"] = tensor(HIDDEN, HIDDEN)
    state["cls.predictions.transform.dense.bias"] = tensor(HIDDEN, scale=0.1)
    state["cls.predictions.transform.LayerNorm.weight"] = 1 + tensor(HIDDEN, scale=0.1)
    state["cls.predictions.transform.LayerNorm.bias"] = tensor(HIDDEN, scale=0.1)
    state["cls.predictions.bias"] = tensor(10, scale=0.1)
    state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"]
    state["cls.predictions.decoder.bias"] = state["cls.predictions.bias"]
    torch.save(state, folder / "pytorch_model.bin")
    config = {
        "architectures": ["BertForMaskedLM"],
        "hidden_act": "gelu",
        "hidden_size": HIDDEN,
        "intermediate_size": FFN,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": POSITIONS,
        "model_type": "bert",
        "num_attention_heads": 2,
        "num_hidden_layers": LAYERS,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "type_vocab_size": 2,
        "vocab_size": 10,
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    return folder


@pytest.fixture()
def runner():
    return CliRunner()


def _run(runner, args, code=0):
    # one torch thread: the CI machine's 2 cores are shared, and oversubscribed intra-op
    # threads are up to 20x slower there
    result = runner.invoke(app, [*args, "--threads", "1"])
    assert result.exit_code == code, (result.output, result.exception)
    return result


def _read_tsv(path):
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    return header, [line.split("\t") for line in lines[1:]]


def _records(path):
    from rnatools.io.fasta import read_fasta_records

    return read_fasta_records(path)


def test_ism_writes_tsv_and_bigwig(runner, tiny_model, test_data, tmp_path):
    import pyBigWig

    fasta = test_data / "lm" / "chrM_1-2000.fa"
    common = [
        "ism",
        "-m",
        "splicebert",
        "--weights",
        str(tiny_model),
        "--fasta",
        str(fasta),
        "--region",
        "chrM:1001-2000",
        "--window",
        "101",
        "--max-distance",
        "40",
        "--device",
        "cpu",
        "--batch-size",
        "64",
    ]
    table = tmp_path / "ism.tsv"
    _run(runner, [*common, "-o", str(table)])
    header, rows = _read_tsv(table)
    assert header == ["chrom", "pos", "ref", "alt", "strand", "kl_context", "delta_logp"]
    assert len(rows) == 3000
    genome = _records(fasta)[0][1]
    assert all(genome[int(r[1]) - 1] == r[2] != r[3] for r in rows)
    # one SNV recomputed through the library: window centred on the variant (index 50)
    chosen = rows[1234]
    pos0 = int(chosen[1]) - 1
    window = genome[pos0 - 50 : pos0 + 51]
    lm = load_lm("splicebert", tiny_model)
    expected = score_snvs(lm, [window], 50, [chosen[3]], max_distance=40)
    assert float(chosen[5]) == pytest.approx(expected.kl_context[0], abs=1e-3)
    assert float(chosen[6]) == pytest.approx(expected.delta_logp[0], abs=1e-5)

    prefix = tmp_path / "ism"
    _run(runner, [*common, "-o", f"{prefix}.bw"])
    kl = np.array([float(r[5]) for r in rows]).reshape(1000, 3).max(axis=1)
    delta = np.array([float(r[6]) for r in rows]).reshape(1000, 3).min(axis=1)
    for track, values in (("kl_context_max", kl), ("delta_logp_min", delta)):
        bigwig = pyBigWig.open(str(tmp_path / f"ism.{track}.bw"))
        assert bigwig.chroms() == {"chrM": 2000}
        stored = np.array(bigwig.values("chrM", 1000, 2000))
        bigwig.close()
        np.testing.assert_allclose(stored, values, atol=1e-3)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_ism_minus_strand_scores_the_reverse_complement(runner, tiny_model, test_data, tmp_path):
    fasta = test_data / "lm" / "chrM_1-2000.fa"
    table = tmp_path / "minus.tsv"
    _run(
        runner,
        [
            "ism",
            "-m",
            "splicebert",
            "--weights",
            str(tiny_model),
            "--fasta",
            str(fasta),
            "--region",
            "chrM:500-509",
            "--window",
            "21",
            "--strand",
            "-",
            "--device",
            "cpu",
            "-o",
            str(table),
        ],
    )
    _, rows = _read_tsv(table)
    assert len(rows) == 30 and {r[4] for r in rows} == {"-"}
    genome = _records(fasta)[0][1]
    lm = load_lm("splicebert", tiny_model)
    for row in rows[::7]:
        pos0 = int(row[1]) - 1
        window = reverse_complement(genome[pos0 - 10 : pos0 + 11])  # variant stays at index 10
        alt = reverse_complement(row[3])
        expected = score_snvs(lm, [window], 10, [alt], max_distance=100)
        assert float(row[5]) == pytest.approx(expected.kl_context[0], abs=1e-3)
        assert float(row[6]) == pytest.approx(expected.delta_logp[0], abs=1e-5)


def test_embed_npz_h5_pool_and_bed(runner, tiny_model, test_data, tmp_path):
    import h5py

    sequences = test_data / "lm" / "rna.fa"
    plain = tmp_path / "plain.fa"
    plain.write_text("".join(f">{n}\n{s}\n" for n, s in _records(sequences)[:2]))
    base = ["embed", "-m", "splicebert", "--weights", str(tiny_model), "--device", "cpu"]
    _run(runner, [*base, "--sequences", str(plain), "-o", str(tmp_path / "e.npz")])
    stored = dict(np.load(tmp_path / "e.npz"))
    assert sorted(stored) == ["hsa-miR-21-5p", "tRNA-Phe"]
    lm = load_lm("splicebert", tiny_model)
    (expected,) = lm.embed(["TAGCTTATCAGACTGATGTTGA"])
    np.testing.assert_allclose(stored["hsa-miR-21-5p"], expected, atol=1e-6)
    assert stored["tRNA-Phe"].shape == (76, HIDDEN)

    _run(runner, [*base, "--sequences", str(plain), "--pool", "mean", "-o", str(tmp_path / "e.h5")])
    with h5py.File(tmp_path / "e.h5") as store:
        names = [n.decode() for n in store["names"][:]]
        assert names == ["hsa-miR-21-5p", "tRNA-Phe"]
        np.testing.assert_allclose(store["embeddings/0"][:], expected.mean(axis=0), atol=1e-6)

    fasta = test_data / "lm" / "chrM_1-2000.fa"
    _run(
        runner,
        [
            *base,
            "--fasta",
            str(fasta),
            "--bed",
            str(test_data / "lm" / "regions.bed"),
            "-o",
            str(tmp_path / "bed.npz"),
        ],
    )
    stored = dict(np.load(tmp_path / "bed.npz"))
    genome = _records(fasta)[0][1]
    (minus,) = lm.embed([reverse_complement(genome[1000:1100])])
    np.testing.assert_allclose(stored["second"], minus, atol=1e-6)
    assert stored["first"].shape == (60, HIDDEN)


def test_embed_refuses_or_tiles_long_sequences(runner, tiny_model, test_data, tmp_path):
    long = tmp_path / "long.fa"
    long.write_text(">long\n" + _records(test_data / "lm" / "chrM_1-2000.fa")[0][1][:300] + "\n")
    base = [
        "embed",
        "-m",
        "splicebert",
        "--weights",
        str(tiny_model),
        "--device",
        "cpu",
        "--sequences",
        str(long),
        "-o",
        str(tmp_path / "long.npz"),
    ]
    result = _run(runner, base, code=1)
    assert "longer than the 128 nt" in result.output and "--tile" in result.output
    _run(runner, [*base, "--tile"])
    with np.load(tmp_path / "long.npz") as stored:
        assert stored["long"].shape == (300, HIDDEN)


def test_mlm_fill_mask_and_pseudo_log_likelihood(runner, tiny_model, test_data, tmp_path):
    table, pll = tmp_path / "mlm.tsv", tmp_path / "pll.tsv"
    _run(
        runner,
        [
            "mlm",
            "-m",
            "splicebert",
            "--weights",
            str(tiny_model),
            "--device",
            "cpu",
            "--sequences",
            str(test_data / "lm" / "rna.fa"),
            "-o",
            str(table),
            "--pll",
            str(pll),
            "--top-k",
            "2",
        ],
    )
    header, rows = _read_tsv(table)
    assert header == ["name", "position", "ref", "p_A", "p_C", "p_G", "p_T", "top", "log_p_ref"]
    assert len(rows) == 22 + 76 + 2
    probabilities = np.array([[float(x) for x in r[3:7]] for r in rows])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    lm = load_lm("splicebert", tiny_model)
    masked = [r for r in rows if r[0] == "miR-21-masked"]
    assert [(r[1], r[2]) for r in masked] == [("6", "<mask>"), ("16", "<mask>")]
    (logits,) = lm.nucleotide_logits(["TAGCT" + "N" + "ATCAGACTG" + "N" + "TGTTGA"], [[5, 15]])
    expected = torch.softmax(torch.from_numpy(logits[[5, 15]]).double(), -1).numpy()
    np.testing.assert_allclose(
        np.array([[float(x) for x in r[3:7]] for r in masked]), expected, atol=1e-6
    )
    assert re.fullmatch(r"[ACGT]:0\.\d{4},[ACGT]:0\.\d{4}", masked[0][7])
    # pseudo-log-likelihood: the sum of log_p_ref, each position masked alone
    mir = [r for r in rows if r[0] == "hsa-miR-21-5p"]
    (logits,) = lm.nucleotide_logits(["TAGCTTATCAGACTGATGTTGA"], [[3]])
    expected = torch.log_softmax(torch.from_numpy(logits[3]).double(), -1)[1].item()  # C
    assert float(mir[3][8]) == pytest.approx(expected, abs=1e-5)
    _, summary = _read_tsv(pll)
    assert [s[0] for s in summary] == ["hsa-miR-21-5p", "tRNA-Phe"]
    assert float(summary[0][2]) == pytest.approx(sum(float(r[8]) for r in mir), abs=1e-4)


def test_missing_weights_exit_code_3(runner, test_data, monkeypatch):
    monkeypatch.delenv("RNATOOLS_RNABERT_WEIGHTS", raising=False)
    result = _run(
        runner,
        ["embed", "-m", "rnabert", "--sequences", str(test_data / "lm" / "rna.fa"), "-o", "x.npz"],
        code=3,
    )
    assert "RNATOOLS_RNABERT_WEIGHTS" in result.output and "mana438/RNABERT" in result.output


def test_unknown_model_is_a_usage_error(runner, test_data):
    result = _run(
        runner,
        [
            "embed",
            "-m",
            "bert-of-nothing",
            "--sequences",
            str(test_data / "lm" / "rna.fa"),
            "-o",
            "x.npz",
        ],
        code=2,
    )
    assert "rnabert" in result.output


# ---------------------------------------------------------------------------------------------
# --shard I/N and --regions


def _merge(runner, inputs, output):
    result = runner.invoke(app, ["merge", *map(str, inputs), "-o", str(output)])
    assert result.exit_code == 0, (result.output, result.exception)


def test_ism_shards_merge_to_the_unsharded_tsv_byte_for_byte(
    runner, tiny_model, test_data, tmp_path
):
    fasta = test_data / "lm" / "chrM_1-2000.fa"
    common = [
        "ism",
        "-m",
        "splicebert",
        "--weights",
        str(tiny_model),
        "--fasta",
        str(fasta),
        # two regions, the first 300 nt (not a multiple of the 64-nt block), done in this order
        "--regions",
        "chrM:1001-1300",
        "--regions",
        "chrM:401-500",
        "--window",
        "101",
        "--max-distance",
        "40",
        "--strand",
        "-",
        "--device",
        "cpu",
        "--batch-size",
        "64",
    ]
    whole = tmp_path / "whole.tsv"
    _run(runner, [*common, "-o", str(whole)])
    shards = [tmp_path / f"shard{i}.tsv" for i in (1, 2, 3)]
    for number, path in enumerate(shards, start=1):
        _run(runner, [*common, "--shard", f"{number}/3", "-o", str(path)])
    merged = tmp_path / "merged.tsv"
    _merge(runner, shards, merged)
    assert merged.read_bytes() == whole.read_bytes()
    _, rows = _read_tsv(whole)
    assert len(rows) == 3 * 400
    assert [int(r[1]) for r in rows[::3]] == [*range(1001, 1301), *range(401, 501)]
    sizes = [len(_read_tsv(path)[1]) for path in shards]
    assert all(size > 0 for size in sizes) and sum(sizes) == len(rows)
    for path in shards:  # every shard starts on a 64-nt block of its region
        first = int(_read_tsv(path)[1][0][1])
        assert (first - 1001) % 64 == 0 or (first - 401) % 64 == 0


def test_ism_needs_a_region_and_bigwig_refuses_shards(runner, tiny_model, test_data, tmp_path):
    base = ["ism", "-m", "splicebert", "--weights", str(tiny_model), "--device", "cpu"]
    base += ["--fasta", str(test_data / "lm" / "chrM_1-2000.fa")]
    result = _run(runner, [*base, "-o", str(tmp_path / "x.tsv")], code=2)
    assert "--region" in result.output
    result = _run(
        runner,
        [*base, "-r", "chrM:1-100", "--shard", "1/2", "-o", str(tmp_path / "x.bw")],
        code=2,
    )
    assert "rnatools merge" in result.output


def test_mlm_and_embed_shards_cover_the_records_once(runner, tiny_model, test_data, tmp_path):
    sequences = test_data / "lm" / "rna.fa"
    base = ["-m", "splicebert", "--weights", str(tiny_model), "--device", "cpu"]
    whole, whole_pll = tmp_path / "mlm.tsv", tmp_path / "pll.tsv"
    _run(runner, ["mlm", *base, "-s", str(sequences), "-o", str(whole), "--pll", str(whole_pll)])
    parts, pll_parts = [], []
    for number in (1, 2, 3):
        part, pll = tmp_path / f"mlm{number}.tsv", tmp_path / f"pll{number}.tsv"
        _run(
            runner,
            ["mlm", *base, "-s", str(sequences), "--shard", f"{number}/3"]
            + ["-o", str(part), "--pll", str(pll)],
        )
        parts.append(part)
        pll_parts.append(pll)
    _merge(runner, parts, tmp_path / "mlm.merged.tsv")
    _merge(runner, pll_parts, tmp_path / "pll.merged.tsv")
    assert (tmp_path / "mlm.merged.tsv").read_bytes() == whole.read_bytes()
    assert (tmp_path / "pll.merged.tsv").read_bytes() == whole_pll.read_bytes()
    # shard_range: 3 records in 3 shards, one each, in order
    assert [{r[0] for r in _read_tsv(p)[1]} for p in parts] == [
        {"hsa-miR-21-5p"},
        {"tRNA-Phe"},
        {"miR-21-masked"},
    ]

    # mlm over genomic regions: each region is a record named chrom:start-end
    fasta = test_data / "lm" / "chrM_1-2000.fa"
    table = tmp_path / "regions.tsv"
    _run(
        runner,
        ["mlm", *base, "-f", str(fasta), "--regions", "chrM:11-30", "-o", str(table)],
    )
    _, rows = _read_tsv(table)
    genome = _records(fasta)[0][1]
    assert {r[0] for r in rows} == {"chrM:11-30"}
    assert "".join(r[2] for r in rows) == genome[10:30].upper()

    # embed: shards hold disjoint, contiguous records; HDF5 datasets keep the unsharded index
    import h5py

    bed = test_data / "lm" / "regions.bed"
    genomic = [*base, "--fasta", str(fasta), "--bed", str(bed)]
    _run(runner, ["embed", *genomic, "-o", str(tmp_path / "all.h5")])
    _run(runner, ["embed", *genomic, "--shard", "2/2", "-o", str(tmp_path / "second.h5")])
    with h5py.File(tmp_path / "all.h5") as every, h5py.File(tmp_path / "second.h5") as part:
        assert [n.decode() for n in part["names"][:]] == ["second"]
        assert list(part["embeddings"]) == ["1"]
        np.testing.assert_array_equal(part["embeddings/1"][:], every["embeddings/1"][:])
    # --regions keeps the features overlapping a region, whole
    _run(
        runner,
        ["embed", *genomic, "--regions", "chrM:1050-1051", "-o", str(tmp_path / "r.npz")],
    )
    with np.load(tmp_path / "r.npz") as stored:
        assert list(stored) == ["second"] and stored["second"].shape == (100, HIDDEN)
    result = _run(
        runner,
        ["embed", *base, "-s", str(sequences), "--regions", "chrM:1-10", "-o", "x.npz"],
        code=2,
    )
    assert "--fasta" in result.output

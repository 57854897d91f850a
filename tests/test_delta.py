"""SpliceAI delta-score algorithm (rnatools.scoring.delta) without the real model.

The engine (reference tracks shared per gene, merged and chunked; ALT windows batched by length)
is checked against a literal per-variant implementation of docs/spliceai-scoring.md, with a
fake model whose arithmetic is exact, so the two must agree bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnatools.engine import Engine
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import GeneRow, GeneTable
from rnatools.models.base import SpliceModel
from rnatools.scoring.delta import (
    DeltaOptions,
    DeltaScorer,
    DeltaScores,
    SkipReason,
    Variant,
    align_alt_track,
    delta_scores,
    format_entry,
    is_scorable_allele,
    mask_outside_transcript,
)

FLANK = 5000
SPLICEAI_CHANNELS = (1, 2)  # acceptor, donor columns of the 3-channel tracks below


class ArrayModel(SpliceModel):
    """A numpy function ``(batch, length + 10000, 4) -> (batch, length, 3)`` as a splice model
    laid out like SpliceAI (context 5,000 nt; neither, acceptor, donor)."""

    name = "array"
    context = FLANK
    channels = ("neither", "acceptor", "donor")
    acceptor_channel, donor_channel = 1, 2

    def __init__(self, function):
        self.function = function

    def forward(self, x):
        import torch

        return torch.from_numpy(self.function(x.numpy()))


# ---------------------------------------------------------------------------------------------
# Kernels


def test_deletion_inserts_float64_zero_rows_after_anchor():
    covered = 11
    alt = np.arange((covered - 2) * 3, dtype=np.float32).reshape(-1, 3) + 1  # REF 3 nt, ALT 1
    aligned = align_alt_track(alt, ref_length=3, alt_length=1)
    assert aligned.shape == (covered, 3)
    assert aligned.dtype == np.float64  # SpliceAI 1.3.1 concatenates float64 zeros
    center = covered // 2
    np.testing.assert_array_equal(aligned[: center + 1], alt[: center + 1])
    np.testing.assert_array_equal(aligned[center + 1 : center + 3], 0.0)
    np.testing.assert_array_equal(aligned[center + 3 :], alt[center + 1 :])


def test_insertion_collapses_inserted_rows_into_their_maximum():
    covered = 7
    rng = np.random.default_rng(1)
    alt = rng.random((covered + 3, 3), dtype=np.float32)  # REF 1 nt, ALT 4 nt
    aligned = align_alt_track(alt, ref_length=1, alt_length=4)
    assert aligned.shape == (covered, 3) and aligned.dtype == np.float32
    np.testing.assert_array_equal(aligned[3], alt[3:7].max(axis=0))
    np.testing.assert_array_equal(aligned[:3], alt[:3])
    np.testing.assert_array_equal(aligned[4:], alt[7:])


def test_snv_track_is_unchanged():
    alt = np.ones((5, 3), np.float32)
    assert align_alt_track(alt, 1, 1) is alt


def test_delta_scores_first_maximum_and_signs():
    ref = np.zeros((5, 3), np.float32)
    alt = np.zeros((5, 3), np.float32)
    alt[[1, 3], 1] = 0.5  # acceptor gain tie: first maximum (index 1 → position -1)
    alt[4, 2] = -0.25  # donor loss at +2
    scores = delta_scores(ref, alt, channels=SPLICEAI_CHANNELS)
    assert scores.acceptor_gain == 0.5 and scores.acceptor_gain_position == -1
    assert scores.donor_loss == 0.25 and scores.donor_loss_position == 2
    # all-zero loss: argmax is the first position, value 0
    assert scores.acceptor_loss == 0.0 and scores.acceptor_loss_position == -2


def test_masking_zeroes_gain_at_boundary_and_loss_elsewhere_keeping_positions():
    ref = np.zeros((5, 3), np.float32)
    alt = np.zeros((5, 3), np.float32)
    alt[3, 1] = 0.4  # acceptor gain at +1
    alt[0, 2] = -0.3  # donor loss at -2
    alt[1, 2] = 0.2  # donor gain at -1
    masked = delta_scores(ref, alt, boundary=1, channels=SPLICEAI_CHANNELS)
    assert masked.acceptor_gain == 0.0 and masked.acceptor_gain_position == 1  # gain at boundary
    assert masked.donor_loss == 0.0 and masked.donor_loss_position == -2  # loss off boundary
    assert masked.donor_gain == pytest.approx(0.2)  # gain off boundary kept
    kept = delta_scores(ref, alt, boundary=-2, channels=SPLICEAI_CHANNELS)
    assert kept.donor_loss == pytest.approx(0.3)  # loss at boundary kept


def test_negative_delta_prints_minus_zero_also_when_masked():
    ref = np.full((3, 3), 0.5, np.float32)
    alt = ref - np.float32(1e-4)  # every difference negative: the "gain" is -1e-4
    scores = delta_scores(ref, alt, channels=SPLICEAI_CHANNELS)
    assert format(scores.acceptor_gain, ".2f") == "-0.00"
    masked = delta_scores(
        ref, alt, boundary=-1, channels=SPLICEAI_CHANNELS
    )  # gain position -1 == boundary → * 0 → -0.0
    assert str(masked.acceptor_gain) == "-0.0"
    assert format_entry("T", "G1", masked).split("|")[2] == "-0.00"


def test_format_entry():
    scores = DeltaScores(0.154, 0.265, 0.0, 0.049999, 89, -23, -267, 193)
    assert format_entry("C", "TUBB8", scores) == "C|TUBB8|0.15|0.27|0.00|0.05|89|-23|-267|193"
    assert format_entry("CC", "X", None) == "CC|X|.|.|.|.|.|.|.|."


@pytest.mark.parametrize(
    ("alt", "ok"),
    [
        ("A", True),
        ("ACGT", True),
        ("<DEL>", False),
        ("*", False),
        ("T/*", False),
        (".", False),
        ("A-", False),
        ("]1:5]A", True),
    ],
)
def test_scorable_alleles(alt, ok):
    assert is_scorable_allele(alt) is ok


def test_mask_outside_transcript():
    gene = GeneRow("G", "c", "+", 12, 15, (12,), (15,))
    assert mask_outside_transcript("ACGTACGTAC", 10, gene) == "NNGTANNNNN"
    assert mask_outside_transcript("ACGT", 20, gene) == "NNNN"


def test_nearest_boundary_prefers_upstream_on_ties():
    # exon [10, 20): boundaries 11 (start + 1) and 20 (end); pos 15.5 is impossible, use 2 exons
    gene = GeneRow("G", "c", "+", 0, 40, (0, 24), (20, 40))  # boundaries 1, 20, 25, 40
    assert gene.nearest_boundary(22) == -2
    assert gene.nearest_boundary(23) == 2
    tie = GeneRow("G", "c", "+", 0, 40, (0, 25), (20, 40))  # boundaries 1, 20, 26, 40
    assert tie.nearest_boundary(23) == -3  # 20 and 26 are both 3 away


# ---------------------------------------------------------------------------------------------
# Engine against a literal implementation, with an exact fake model


class ExactFakeModel:
    """Output at p = f(input[p : p + 10001]) with integer arithmetic (bit-reproducible)."""

    def __init__(self, seed: int = 7, taps: int = 40):
        rng = np.random.default_rng(seed)
        offsets = np.unique(
            np.concatenate(
                [[0, 2 * FLANK, FLANK, FLANK - 1, FLANK + 1], rng.integers(0, 2 * FLANK + 1, taps)]
            )
        )
        self.offsets = offsets
        self.weights = rng.integers(-9, 10, (len(offsets), 4, 3)).astype(np.float64)
        self.calls = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        length = x.shape[1] - 2 * FLANK
        total = np.zeros((x.shape[0], length, 3))
        x64 = x.astype(np.float64)
        for offset, weight in zip(self.offsets, self.weights, strict=True):
            total += x64[:, offset : offset + length] @ weight
        total += 1000.0  # N rows (all zero) still give a defined value
        return (np.mod(total, 997.0) / 997.0).astype(np.float32)


def _complement(sequence: str) -> str:
    return sequence.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


def literal_annotation(
    model, genome: str, genes: list[GeneRow], variant: Variant, distance: int, mask: bool
) -> list[str] | str:
    """docs/spliceai-scoring.md step by step, one model call per window."""
    covered = 2 * distance + 1
    width = 2 * FLANK + covered
    pos = variant.pos1
    hits = [g for g in genes if g.tx_start0 + 1 <= pos <= g.tx_end0]
    if not hits:
        return "intergenic"
    start1 = pos - width // 2
    if start1 < 1:
        return "near_contig_end"
    window = genome[start1 - 1 : pos + width // 2]
    if window[width // 2 : width // 2 + len(variant.ref)] != variant.ref:
        return "ref_mismatch"
    if len(window) != width:
        return "near_contig_end"
    if len(variant.ref) > 2 * distance:
        return "ref_too_long"
    entries = []
    for alt in variant.alts:
        if any(c in alt for c in ".-*<>"):
            continue
        for gene in hits:
            if len(variant.ref) > 1 and len(alt) > 1:
                entries.append(f"{alt}|{gene.name}|.|.|.|.|.|.|.|.")
                continue
            left = max(width // 2 + (gene.tx_start0 + 1 - pos), 0)
            right = max(width // 2 - (gene.tx_end0 - pos), 0)
            x_ref = "N" * left + window[left : width - right] + "N" * right
            x_alt = x_ref[: width // 2] + alt + x_ref[width // 2 + len(variant.ref) :]
            if gene.strand == "-":
                x_ref, x_alt = _complement(x_ref), _complement(x_alt)
            from rnatools.sequence import one_hot

            y_ref = model(one_hot(x_ref)[None])[0]
            y_alt = model(one_hot(x_alt)[None])[0]
            if gene.strand == "-":
                y_ref, y_alt = y_ref[::-1], y_alt[::-1]
            rl, al = len(variant.ref), len(alt)
            c = covered // 2
            if rl > 1 and al == 1:
                y_alt = np.concatenate([y_alt[: c + al], np.zeros((rl - 1, 3)), y_alt[c + al :]])
            elif rl == 1 and al > 1:
                y_alt = np.concatenate([y_alt[:c], y_alt[c : c + al].max(0)[None], y_alt[c + al :]])
            b = gene.nearest_boundary(pos)
            fields = []
            positions = []
            for channel, gain in ((1, True), (1, False), (2, True), (2, False)):
                d = (
                    (y_alt[:, channel] - y_ref[:, channel])
                    if gain
                    else (y_ref[:, channel] - y_alt[:, channel])
                )
                i = int(d.argmax())
                m = mask and ((i - c == b) if gain else (i - c != b))
                fields.append(format(d[i] * (1 - m), ".2f"))
                positions.append(str(i - c))
            entries.append("|".join([alt, gene.name, *fields, *positions]))
    return entries


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    rng = np.random.default_rng(20240612)
    genome = "".join(rng.choice(list("ACGT"), 60_000))
    genome = genome[:30_000] + "NNNN" + genome[30_004:]
    folder = tmp_path_factory.mktemp("delta")
    fasta = folder / "g.fa"
    fasta.write_text(
        ">chr5\n" + "\n".join(genome[i : i + 60] for i in range(0, len(genome), 60)) + "\n"
    )
    genes = [
        GeneRow("PLUS", "5", "+", 8_000, 30_000, (8_000, 12_000, 20_000), (9_000, 13_000, 30_000)),
        GeneRow("MINUS", "5", "-", 25_000, 52_000, (25_000, 40_000), (26_500, 52_000)),
        GeneRow("TINY", "5", "+", 41_000, 41_200, (41_000,), (41_200,)),
    ]
    positions = [
        8_001,
        8_050,
        9_000,
        9_001,
        12_500,
        12_700,
        19_999,
        26_000,
        27_400,
        29_990,
        30_001,
        39_998,
        41_000,
        41_100,
        41_201,
        51_990,
        52_000,
        54_000,
    ]
    variants = []
    for k, pos1 in enumerate(positions):
        ref = genome[pos1 - 1]
        kind = k % 5
        if kind == 0:
            alts = ("A" if ref != "A" else "C",)
        elif kind == 1:
            alts = ("G" if ref != "G" else "T", "*")
        elif kind == 2:  # deletion of 3 nt
            ref = genome[pos1 - 1 : pos1 + 2]
            alts = (ref[0],)
        elif kind == 3:
            alts = (ref + "GT", "<DEL>")
        else:
            ref = genome[pos1 - 1 : pos1 + 1]
            alts = ("TT" if ref != "TT" else "AA", ref[0])  # MNV then deletion
        variants.append(Variant("chr5", pos1, ref, alts))
    variants.append(Variant("chr5", 3_000, genome[2_999], ("A",)))  # intergenic
    variants.append(Variant("chr5", 15_000, "A" if genome[14_999] != "A" else "C", ("G",)))
    variants.append(Variant("chr5", 8_500, genome[8_499 : 8_499 + 20], (genome[8_499],)))
    variants.append(Variant("chr5", 4_000 + 1, genome[4_000], ("T",)))
    return genome, fasta, genes, variants


@pytest.mark.parametrize(
    ("distance", "mask", "chunk", "batch"),
    [(50, False, 10_000, 32), (50, True, 300, 3), (5, False, 7, 1)],
)
def test_engine_matches_literal_spec(synthetic, distance, mask, chunk, batch):
    genome, fasta_path, genes, variants = synthetic
    model = ExactFakeModel()
    with Fasta(fasta_path) as fasta:
        scorer = DeltaScorer(
            ArrayModel(model),
            fasta,
            GeneTable(genes),
            DeltaOptions(distance, mask),
            batch_size=batch,
            chunk_length=chunk,
        )
        results = scorer.annotate(variants)
    scored = 0
    for variant, result in zip(variants, results, strict=True):
        expected = literal_annotation(model, genome, genes, variant, distance, mask)
        if isinstance(expected, str):
            assert result.entries == [] and result.skip is not None, variant
            assert result.skip.value == expected, variant
        else:
            assert result.entries == expected, variant
            scored += sum("|.|" not in entry for entry in expected)
    assert scored >= 20


def test_window_past_contig_start_is_skipped_unless_padded(synthetic):
    genome, fasta_path, genes, _ = synthetic
    near_start = Variant("chr5", 8_010, genome[8_009], ("A" if genome[8_009] != "A" else "C",))
    # 8,010 - 5,050 > 0: fine at D=50, but at D=4,000 the window starts before position 1
    with Fasta(fasta_path) as fasta:
        table = GeneTable(genes)
        skipped = DeltaScorer(
            ArrayModel(ExactFakeModel()), fasta, table, DeltaOptions(4000)
        ).annotate([near_start])
        assert skipped[0].skip is SkipReason.NEAR_CONTIG_END and not skipped[0].entries
        padded = DeltaScorer(
            ArrayModel(ExactFakeModel()), fasta, table, DeltaOptions(4000, pad_contig_ends=True)
        ).annotate([near_start])
        assert padded[0].skip is None and len(padded[0].entries) == 1


def test_contig_missing_and_no_alt(synthetic):
    _, fasta_path, genes, _ = synthetic
    other = GeneRow("ELSEWHERE", "7", "+", 0, 1000, (0,), (1000,))
    with Fasta(fasta_path) as fasta:
        scorer = DeltaScorer(
            ArrayModel(ExactFakeModel()), fasta, GeneTable([*genes, other]), DeltaOptions()
        )
        results = scorer.annotate(
            [Variant("chr7", 10, "A", ("C",)), Variant("chr5", 9_000, "A", None)]
        )
    assert [r.skip for r in results] == [SkipReason.CONTIG_MISSING, SkipReason.SYMBOLIC_ALLELE]


def test_reference_tracks_are_shared_per_gene(synthetic):
    genome, fasta_path, genes, _ = synthetic
    snvs = [
        Variant("chr5", p, genome[p - 1], ("A" if genome[p - 1] != "A" else "C",))
        for p in range(12_400, 12_440)
    ]
    model = ExactFakeModel()
    with Fasta(fasta_path) as fasta:
        scorer = DeltaScorer(ArrayModel(model), fasta, GeneTable(genes), DeltaOptions(50))
        scorer.annotate(snvs)
    assert scorer.model_windows == len(snvs) + 1  # one ALT window each, one shared reference


def test_options_validate_distance():
    with pytest.raises(ValueError):
        DeltaOptions(5000)
    assert DeltaOptions(0).window(FLANK) == 10_001


# ---------------------------------------------------------------------------------------------
# Incremental SNV runner: same numbers as whole ALT windows (random network, no weights needed)


@pytest.fixture(scope="module")
def random_ensemble():
    import torch

    from rnatools.models.spliceai import SpliceAIEnsemble, SpliceAINet

    torch.manual_seed(3)
    nets = []
    for _ in range(2):
        net = SpliceAINet()
        for name, tensor in [*net.named_parameters(), *net.named_buffers()]:
            with torch.no_grad():
                if name.endswith("scale"):
                    tensor.uniform_(0.5, 1.5)
                else:
                    tensor.normal_(0.0, 0.03)
        nets.append(net.eval())
    return SpliceAIEnsemble(nets).eval()


@pytest.mark.slow
def test_incremental_runner_matches_whole_windows(random_ensemble):
    import torch

    from rnatools.models.spliceai_incremental import SpliceAIIncremental
    from rnatools.sequence import one_hot

    rng = np.random.default_rng(5)
    distance, length = 7, 60
    sequence = "".join(rng.choice(list("ACGT"), length + 2 * FLANK))
    sequence = sequence[:4990] + "N" * 8 + sequence[4998:]  # N inside the context
    centers = [FLANK + distance, FLANK + 30, FLANK + length - 1 - distance]
    bases = ["A" if sequence[c] != "A" else "T" for c in centers]
    ref, alt = SpliceAIIncremental(lambda: random_ensemble, snv_batch=2).run(
        Engine("cpu"), sequence, centers, bases, distance
    )
    with torch.inference_mode():
        whole_ref = random_ensemble(torch.from_numpy(one_hot(sequence)).unsqueeze(0))[0].numpy()
        np.testing.assert_array_equal(ref, whole_ref)
        for j, center in enumerate(centers):
            window = sequence[center - FLANK - distance : center + FLANK + distance + 1]
            window = window[: FLANK + distance] + bases[j] + window[FLANK + distance + 1 :]
            whole = random_ensemble(torch.from_numpy(one_hot(window)[None]))[0].numpy()
            np.testing.assert_allclose(alt[j], whole, rtol=0, atol=2e-6)
            assert (
                np.abs(
                    alt[j] - ref[center - FLANK - distance : center - FLANK + distance + 1]
                ).max()
                > 1e-4
            )
    with pytest.raises(ValueError, match="not inside"):
        SpliceAIIncremental(lambda: random_ensemble).run(
            Engine("cpu"), sequence, [FLANK + 2], ["A"], distance
        )


@pytest.mark.slow
def test_scorer_with_incremental_runner_matches_whole_windows(synthetic, random_ensemble):
    from rnatools.models.spliceai import SpliceAIModel

    genome, fasta_path, genes, variants = synthetic
    model = SpliceAIModel(ensemble=random_ensemble)

    subset = [variants[i] for i in (1, 2, 3, 7)]  # SNV (+ '*'), deletion, insertion, minus SNV
    with Fasta(fasta_path) as fasta:
        table = GeneTable(genes)
        options = DeltaOptions(10, mask=True)
        whole = DeltaScorer(model, fasta, table, options, incremental=False).annotate(subset)
        shared = DeltaScorer(model, fasta, table, options, incremental=True).annotate(subset)
    assert [r.entries for r in shared] == [r.entries for r in whole]
    assert sum(len(r.entries) for r in whole) >= 4


def test_iupac_alt_is_skipped_with_its_own_reason(synthetic):
    genome, fasta_path, genes, _ = synthetic
    pos1 = 12_420
    ref = genome[pos1 - 1]
    other = "A" if ref != "A" else "C"
    with Fasta(fasta_path) as fasta:
        scorer = DeltaScorer(ArrayModel(ExactFakeModel()), fasta, GeneTable(genes), DeltaOptions())
        only_iupac, mixed, symbolic = scorer.annotate(
            [
                Variant("chr5", pos1, ref, ("R",)),
                Variant("chr5", pos1, ref, (other, "Y")),
                Variant("chr5", pos1, ref, ("<DEL>",)),
            ]
        )
    assert only_iupac.skip is SkipReason.IUPAC_ALLELE and only_iupac.entries == []
    assert mixed.skip is None and [e.split("|")[0] for e in mixed.entries] == [other]
    assert "|.|" not in mixed.entries[0]
    assert symbolic.skip is SkipReason.SYMBOLIC_ALLELE

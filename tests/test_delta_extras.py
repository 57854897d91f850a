"""DeltaScorer extras (issue 12): kept tracks, raw REF/ALT probabilities, MNV/delins scoring,
left-alignment, the per-transcript entry format.

Each option is checked against a literal implementation of ``docs/spliceai-scoring.md`` with a
bit-exact fake model (one model call per window), and the MNV rule also against whole windows of
the real SpliceAI networks on the BRCA1 example.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_delta import ArrayModel

from rnatools.engine import Engine
from rnatools.errors import UsageError
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import GeneRow, GeneTable
from rnatools.models.spliceai_weights import installed_weights
from rnatools.scoring.delta import (
    DeltaOptions,
    DeltaScorer,
    DeltaScores,
    SkipReason,
    Variant,
    align_alt_track,
    format_raw_entry,
    format_transcript_entry,
    raw_header_line,
    raw_scores,
    transcript_header_line,
)
from rnatools.scoring.variants import is_normalized, normalize_alleles
from rnatools.sequence import one_hot

FLANK = 5000
BRCA1 = Path(__file__).resolve().parents[1] / "examples" / "brca1"


class ExactFakeModel:
    """Output at p = f(input[p : p + 10001]) with integer arithmetic (bit-reproducible)."""

    def __init__(self, seed: int = 11, taps: int = 40):
        rng = np.random.default_rng(seed)
        offsets = np.unique(
            np.concatenate(
                [
                    [0, 2 * FLANK, FLANK, FLANK - 1, FLANK + 1, FLANK + 2],
                    rng.integers(0, 2 * FLANK + 1, taps),
                ]
            )
        )
        self.offsets = offsets
        self.weights = rng.integers(-9, 10, (len(offsets), 4, 3)).astype(np.float64)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        length = x.shape[1] - 2 * FLANK
        total = np.zeros((x.shape[0], length, 3))
        x64 = x.astype(np.float64)
        for offset, weight in zip(self.offsets, self.weights, strict=True):
            total += x64[:, offset : offset + length] @ weight
        total += 1000.0
        return (np.mod(total, 997.0) / 997.0).astype(np.float32)


def _revcomp(sequence: str) -> str:
    return sequence.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


def literal_tracks(model, genome, gene: GeneRow, pos0: int, ref: str, alt: str, distance: int):
    """The REF track and the aligned ALT track of one allele, step by step from the spec:
    gene-masked windows centred on ``pos0``, one model call each, the alignment rule of
    "Indel alignment" (generalised to delins)."""
    covered = 2 * distance + 1
    half = FLANK + distance
    start0 = pos0 - half
    x_ref = "".join(
        genome[i] if gene.tx_start0 <= i < gene.tx_end0 else "N"
        for i in range(start0, pos0 + half + 1)
    )
    x_alt = x_ref[:half] + alt + x_ref[half + len(ref) :]
    if gene.strand == "-":
        x_ref, x_alt = _revcomp(x_ref), _revcomp(x_alt)
    y_ref = model(one_hot(x_ref)[None])[0]
    y_alt = model(one_hot(x_alt)[None])[0]
    if gene.strand == "-":
        y_ref, y_alt = y_ref[::-1], y_alt[::-1]
    m, k, c = len(ref), len(alt), covered // 2
    if k < m:  # the first k ALT rows face the first k REF bases, zeros the deleted ones
        y_alt = np.concatenate([y_alt[: c + k], np.zeros((m - k, 3)), y_alt[c + k :]])
    elif k > m:  # the last REF base and the inserted ones collapse into their maximum
        y_alt = np.concatenate(
            [y_alt[: c + m - 1], y_alt[c + m - 1 : c + k].max(0)[None], y_alt[c + k :]]
        )
    assert y_ref.shape == y_alt.shape == (covered, 3)
    return y_ref, y_alt


def literal_entry(y_ref, y_alt, alt, gene, boundary=None, shift=0, transcript=None):
    """``ALT|GENE|DS..|DP..`` from two aligned tracks (first maximum; gains masked at the
    boundary, losses elsewhere); positions shifted by ``shift``."""
    c = y_ref.shape[0] // 2
    values, positions, raw = [], [], []
    for channel, gain in ((1, True), (1, False), (2, True), (2, False)):
        d = y_alt[:, channel] - y_ref[:, channel]
        if not gain:
            d = y_ref[:, channel] - y_alt[:, channel]
        i = int(d.argmax())
        masked = boundary is not None and ((i - c == boundary) if gain else (i - c != boundary))
        values.append(format(d[i] * (1 - masked), ".2f"))
        positions.append(str(i - c + shift))
        raw += [format(float(y_ref[i, channel]), ".3f"), format(float(y_alt[i, channel]), ".3f")]
    head = [alt, gene.name] if transcript is None else [alt, gene.name, *transcript]
    return "|".join([*head, *values, *positions]), "|".join([alt, gene.name, *raw])


# ---------------------------------------------------------------------------------------------
# Kernels


def test_delins_alignment_generalises_spliceai_deletion_and_insertion_rules():
    covered, c = 11, 5
    # delins REF 4 nt -> ALT 2 nt: ALT rows c, c+1 face REF c, c+1; REF c+2, c+3 get zeros
    alt = np.arange((covered - 2) * 3, dtype=np.float32).reshape(-1, 3) + 1
    aligned = align_alt_track(alt, ref_length=4, alt_length=2)
    assert aligned.dtype == np.float64 and aligned.shape == (covered, 3)
    np.testing.assert_array_equal(aligned[: c + 2], alt[: c + 2])
    np.testing.assert_array_equal(aligned[c + 2 : c + 4], 0.0)
    np.testing.assert_array_equal(aligned[c + 4 :], alt[c + 2 :])
    # delins REF 2 -> ALT 5: row c faces REF c; REF c+1 gets max of ALT rows c+1 .. c+4
    alt = np.random.default_rng(1).random((covered + 3, 3)).astype(np.float32)
    aligned = align_alt_track(alt, ref_length=2, alt_length=5)
    assert aligned.dtype == np.float32 and aligned.shape == (covered, 3)
    np.testing.assert_array_equal(aligned[: c + 1], alt[: c + 1])
    np.testing.assert_array_equal(aligned[c + 1], alt[c + 1 : c + 5].max(0))
    np.testing.assert_array_equal(aligned[c + 2 :], alt[c + 5 :])
    # equal lengths: position-wise, untouched
    same = alt[:covered]
    assert align_alt_track(same, 3, 3) is same
    # the SpliceAI special cases are unchanged: deletion zeros right after the anchor
    deletion = align_alt_track(alt[: covered - 2], 3, 1)
    np.testing.assert_array_equal(deletion[c + 1 : c + 3], 0.0)
    np.testing.assert_array_equal(deletion[: c + 1], alt[: c + 1])


def test_raw_scores_read_both_tracks_at_the_delta_positions():
    ref = np.zeros((5, 3), dtype=np.float32)
    alt = np.zeros((5, 3), dtype=np.float64)
    ref[1, 1], alt[1, 1] = 0.95, 0.05  # acceptor loss at -1
    alt[4, 1] = 0.30  # acceptor gain at +2
    ref[2, 2] = 0.40  # donor loss at 0 (ALT 0: a deleted base)
    alt[0, 2] = 0.10  # donor gain at -2
    scores = DeltaScores(0.3, 0.9, 0.1, 0.4, 2, -1, -2, 0)
    raw = raw_scores(ref, alt, scores, channels=(1, 2))
    assert format_raw_entry("A", "G", raw) == "A|G|0.000|0.300|0.950|0.050|0.000|0.100|0.400|0.000"
    assert format_raw_entry("A", "G", None) == "A|G|.|.|.|.|.|.|.|."
    line = raw_header_line("OpenSpliceAI")
    assert line.startswith("##INFO=<ID=OpenSpliceAI_RAW,Number=.,Type=String,")
    assert line.endswith(
        "Format: ALLELE|SYMBOL|DS_AG_REF|DS_AG_ALT|DS_AL_REF|DS_AL_ALT|"
        'DS_DG_REF|DS_DG_ALT|DS_DL_REF|DS_DL_ALT">'
    )
    assert "ID=SpliceAI_RAW," in raw_header_line()
    assert "each OpenSpliceAI entry" in line and "{" not in line


def test_transcript_entry_format_and_header():
    scores = DeltaScores(0.125, -0.0, 0.5, 0.0, 3, -1, 0, 7)
    assert (
        format_transcript_entry("T", "BRCA1", "ENST1", "MANE_Select", scores)
        == "T|BRCA1|ENST1|MANE_Select|0.12|-0.00|0.50|0.00|3|-1|0|7"
    )
    assert format_transcript_entry("T", "B", "E", "other", None) == "T|B|E|other|.|.|.|.|.|.|.|."
    line = transcript_header_line("Pangolin_TX")
    assert line.startswith('##INFO=<ID=Pangolin_TX,Number=.,Type=String,Description="Pangolin ')
    assert line.endswith(
        "Format: ALLELE|SYMBOL|TRANSCRIPT|PRIORITY|DS_AG|DS_AL|DS_DG|DS_DL|"
        'DP_AG|DP_AL|DP_DG|DP_DL">'
    )


class DictReference:
    def __init__(self, sequence: str):
        self.sequence = sequence

    def has(self, chrom):
        return True

    def length(self, chrom):
        return len(self.sequence)

    def fetch(self, chrom, start, end):
        assert 0 <= start <= end <= len(self.sequence)
        return self.sequence[start:end]


@pytest.mark.parametrize(
    ("pos0", "alleles", "expected"),
    [
        # deletion of one A in the run AAAA (0-based 3..6), written at its right end
        (5, ("AA", "A"), (2, ("CA", "C"))),
        (2, ("CA", "C"), (2, ("CA", "C"))),
        # the same deletion with needless context on both sides
        (2, ("CAAAAT", "CAAAT"), (2, ("CA", "C"))),
        # insertion of CA in the repeat CACACA (0-based 8..13), written at its end
        (13, ("A", "ACA"), (7, ("T", "TCA"))),
        # an MNV with a shared first base is trimmed to an SNV; SNVs never move
        (3, ("AA", "GA"), (3, ("A", "G"))),
        (6, ("AT", "AC"), (7, ("T", "C"))),
        (9, ("A", "G"), (9, ("A", "G"))),
        # multi-allelic: trimmed jointly (vt), so each allele keeps the common context
        (2, ("CA", "C", "CAA"), (2, ("CA", "C", "CAA"))),
        (6, ("AT", "ACT", "AGT"), (6, ("A", "AC", "AG"))),
        # at the contig start the last shared base stays (nothing to prepend)
        (0, ("GG", "G"), (0, ("GG", "G"))),
        # lower case in, upper case out; REF == ALT has no normal form
        (2, ("ca", "c"), (2, ("CA", "C"))),
        (9, ("A", "A"), (9, ("A", "A"))),
    ],
)
def test_normalize_alleles_left_aligns_and_trims(pos0, alleles, expected):
    #                 0123456789012345
    reference = DictReference("GGCAAAATCACACAGT")
    assert reference.fetch("c", pos0, pos0 + len(alleles[0])) == alleles[0].upper()
    assert normalize_alleles(reference, "c", pos0, alleles) == expected
    assert is_normalized(reference, "c", pos0, alleles) == (
        (pos0, tuple(a.upper() for a in alleles)) == expected
    )


# ---------------------------------------------------------------------------------------------
# The scorer against the literal spec, exact fake model


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    rng = np.random.default_rng(4242)
    genome = list("".join(rng.choice(list("ACGT"), 40_000)))
    genome[15_000:15_009] = list("GCAAAAATG")  # a run of five A for the normalisation tests
    genome = "".join(genome)
    folder = tmp_path_factory.mktemp("delta_extras")
    fasta = folder / "g.fa"
    fasta.write_text(
        ">chr5\n" + "\n".join(genome[i : i + 60] for i in range(0, len(genome), 60)) + "\n"
    )
    genes = [
        GeneRow(
            "PLUS", "chr5", "+", 8_000, 30_000, (8_000, 15_020, 20_000), (9_000, 16_000, 30_000)
        ),
        GeneRow(
            "MINUS",
            "chr5",
            "-",
            24_000,
            34_000,
            (24_000, 33_000),
            (26_500, 34_000),
            transcript_id="ENST9",
            tags=frozenset({"MANE_Select"}),
        ),
    ]
    return genome, fasta, genes


def _variants(genome: str) -> list[Variant]:
    def snv(pos1):
        base = genome[pos1 - 1]
        return Variant("chr5", pos1, base, ("A" if base != "A" else "C",))

    def subst(pos1, length, alt):
        return Variant("chr5", pos1, genome[pos1 - 1 : pos1 - 1 + length], (alt,))

    return [
        snv(9_001),  # PLUS
        snv(25_990),  # PLUS and MINUS
        subst(12_000, 3, genome[11_999]),  # deletion
        Variant("chr5", 14_000, genome[13_999], (genome[13_999] + "GT", "*")),  # insertion
        subst(16_002, 2, "TG" if genome[16_001:16_003] != "TG" else "CA"),  # MNV, 2 nt
        subst(25_000, 3, "GTAG"),  # delins lengthening, both genes
        subst(33_010, 5, "CA"),  # delins shortening, MINUS
        Variant("chr5", 20_500, genome[20_499:20_501], ("AC", genome[20_499])),  # MNV + deletion
    ]


def _literal(model, genome, genes, variants, distance, mask, score_mnv):
    entries, raws, tracks = [], [], []
    for variant in variants:
        hits = [g for g in genes if g.tx_start0 < variant.pos1 <= g.tx_end0]
        record_entries, record_raw, record_tracks = [], [], []
        for alt in variant.alts:
            if alt == "*":
                continue
            for gene in hits:
                if len(variant.ref) > 1 and len(alt) > 1 and not score_mnv:
                    record_entries.append(f"{alt}|{gene.name}|.|.|.|.|.|.|.|.")
                    record_raw.append(f"{alt}|{gene.name}|.|.|.|.|.|.|.|.")
                    record_tracks.append(None)
                    continue
                y_ref, y_alt = literal_tracks(
                    model, genome, gene, variant.pos1 - 1, variant.ref, alt, distance
                )
                boundary = gene.nearest_boundary(variant.pos1) if mask else None
                entry, raw = literal_entry(y_ref, y_alt, alt, gene, boundary)
                record_entries.append(entry)
                record_raw.append(raw)
                record_tracks.append((y_ref, y_alt))
        entries.append(record_entries)
        raws.append(record_raw)
        tracks.append(record_tracks)
    return entries, raws, tracks


@pytest.mark.parametrize(("distance", "mask", "score_mnv"), [(50, False, True), (20, True, False)])
def test_tracks_raw_and_mnv_match_the_literal_spec(synthetic, distance, mask, score_mnv):
    genome, fasta_path, genes = synthetic
    model = ExactFakeModel()
    variants = _variants(genome)
    with Fasta(fasta_path) as fasta:
        plain = DeltaScorer(
            ArrayModel(model),
            fasta,
            GeneTable(genes),
            DeltaOptions(distance, mask),
            score_mnv=score_mnv,
        ).annotate(variants)
        extra = DeltaScorer(
            ArrayModel(model),
            fasta,
            GeneTable(genes),
            DeltaOptions(distance, mask),
            keep_tracks=True,
            raw_scores=True,
            score_mnv=score_mnv,
            batch_size=3,
        ).annotate(variants)
    entries, raws, tracks = _literal(model, genome, genes, variants, distance, mask, score_mnv)
    assert [r.entries for r in plain] == [r.entries for r in extra] == entries
    assert [r.raw_entries for r in extra] == raws
    assert [r.raw_entries for r in plain] == [[] for _ in variants]
    assert [r.tracks for r in plain] == [[] for _ in variants]
    checked = 0
    for variant, result, expected in zip(variants, extra, tracks, strict=True):
        assert len(result.tracks) == len(result.entries)
        for kept, literal, entry in zip(result.tracks, expected, result.entries, strict=True):
            if literal is None:
                assert kept is None and entry.endswith("|.|.|.|.|.|.|.|.")
                continue
            assert kept.allele == entry.split("|")[0]
            assert kept.gene.name == entry.split("|")[1]
            assert kept.start0 == variant.pos1 - 1 - distance
            assert (kept.acceptor_channel, kept.donor_channel) == (1, 2)
            assert kept.ref.dtype == np.float32 and kept.ref.shape == (2 * distance + 1, 3)
            np.testing.assert_array_equal(kept.ref, literal[0])
            np.testing.assert_array_equal(kept.alt, literal[1])
            checked += 1
    assert checked == (11 if score_mnv else 6)
    skips = [r.skip for r in plain if r.skip is not None]
    assert skips == ([] if score_mnv else [SkipReason.MNV] * 3)


def test_transcript_entry_format_in_the_scorer(synthetic):
    genome, fasta_path, genes = synthetic
    model = ExactFakeModel()
    variants = _variants(genome)[:2]
    with Fasta(fasta_path) as fasta:
        gene_format = DeltaScorer(ArrayModel(model), fasta, GeneTable(genes)).annotate(variants)
        tx_format = DeltaScorer(
            ArrayModel(model), fasta, GeneTable(genes), entry_format="transcript"
        ).annotate(variants)
        with pytest.raises(UsageError) as error:
            DeltaScorer(ArrayModel(model), fasta, GeneTable(genes), entry_format="tx")
    assert error.value.parameter == "entry_format"
    assert tx_format[1].entries == [
        gene_format[1].entries[0].replace("|PLUS|", "|PLUS|PLUS|other|"),
        gene_format[1].entries[1].replace("|MINUS|", "|MINUS|ENST9|MANE_Select|"),
    ]


def test_normalize_scores_the_left_aligned_form(synthetic):
    genome, fasta_path, genes = synthetic
    assert genome[15_000:15_009] == "GCAAAAATG"  # 1-based 15,001..15,009; A run 15,003..15,007
    forms = [
        Variant("chr5", 15_002, "CA", ("C",)),  # left-aligned, parsimonious
        Variant("chr5", 15_006, "AA", ("A",)),  # the same deletion, right-shifted
        Variant("chr5", 15_001, "GCAAAAA", ("GCAAAA",)),  # the same, with needless context
        Variant("chr5", 15_003, "AAAAATG", ("AAAATG", "AAAAACG")),  # multi-allelic
    ]
    model = ExactFakeModel()
    with Fasta(fasta_path) as fasta:
        table = GeneTable(genes)
        raw = DeltaScorer(ArrayModel(model), fasta, table, DeltaOptions(30))
        as_written = raw.annotate(forms)
        normal = DeltaScorer(
            ArrayModel(model), fasta, table, DeltaOptions(30), normalize=True, keep_tracks=True
        )
        normalized = normal.annotate(forms)
    assert raw.not_normalized == normal.not_normalized == 3
    assert [r.not_normalized for r in normalized] == [False, True, True, True]
    # as written: different windows give different numbers (the known complaint), the MNV '.'
    assert len({entry.split("|", 2)[2] for r in as_written[:3] for entry in r.entries}) == 3
    assert as_written[3].entries[1].endswith("|.|.|.|.|.|.|.|.")
    # normalised: one score; ALT as written; POS + DP the same genome positions
    y_ref, y_alt = literal_tracks(model, genome, genes[0], 15_001, "CA", "C", 30)
    reference_entry, _ = literal_entry(y_ref, y_alt, "C", genes[0])
    values = reference_entry.split("|")
    for variant, result in zip(forms, normalized, strict=True):
        fields = result.entries[0].split("|")
        assert fields[0] == variant.alts[0]
        assert fields[2:6] == values[2:6]
        shift = 15_002 - variant.pos1
        assert [int(p) for p in fields[6:]] == [int(p) + shift for p in values[6:]]
        assert result.tracks[0].start0 == 15_001 - 30
    # the second ALT of the multi-allelic record trims to an SNV (T>C at 1-based 15,008)
    y_ref, y_alt = literal_tracks(model, genome, genes[0], 15_007, "T", "C", 30)
    snv_entry, _ = literal_entry(y_ref, y_alt, "AAAAACG", genes[0], shift=15_008 - 15_003)
    assert normalized[3].entries[1] == snv_entry


# ---------------------------------------------------------------------------------------------
# MNVs and delins against whole windows of the real SpliceAI networks (BRCA1 example)

needs_spliceai = pytest.mark.skipif(
    installed_weights() is None,
    reason="needs the spliceai package (pip install 'rnatools[spliceai]')",
)


@pytest.mark.slow
@pytest.mark.weights
@needs_spliceai
def test_mnv_and_delins_match_whole_spliceai_windows():
    import torch

    from rnatools.io.gene_table import rows_from_gene_models
    from rnatools.models.spliceai import SpliceAIModel

    model = SpliceAIModel(weight_files=installed_weights())
    (brca1,) = rows_from_gene_models(BRCA1 / "brca1.gtf")
    distance = 50
    with Fasta(BRCA1 / "GRCh38.chr17.brca1.fa.gz") as fasta:
        # exon [43,104,867, 43,104,956) 0-based: an MNV across its acceptor side (minus strand:
        # the exon end), a shortening and a lengthening delins near its other end
        end0 = 43_104_956
        start0 = 43_104_867
        assert (start0, end0) in zip(brca1.exon_starts0, brca1.exon_ends0, strict=True)
        genome_start = start0 - FLANK - 200
        genome = fasta.fetch("chr17", genome_start, end0 + FLANK + 200)

        def base(pos0, length=1):
            return genome[pos0 - genome_start : pos0 - genome_start + length]

        mnv = "CTA" if base(end0 - 1, 3) != "CTA" else "GGT"
        variants = [  # pos1 = pos0 + 1
            Variant("chr17", end0, base(end0 - 1, 3), (mnv,)),  # 3-nt MNV
            Variant("chr17", start0 - 2, base(start0 - 3, 6), ("TG",)),  # 6 nt -> 2 nt
            Variant("chr17", start0 + 2, base(start0 + 1, 2), ("GTAAGT",)),  # 2 nt -> 6 nt
        ]
        scorer = DeltaScorer(
            model,
            fasta,
            GeneTable([brca1]),
            DeltaOptions(distance),
            score_mnv=True,
            raw_scores=True,
            keep_tracks=True,
            incremental=False,
            engine=Engine("cpu"),
        )
        results = scorer.annotate(variants)

    def run(sequence):
        sequence = _revcomp(sequence)  # BRCA1 is on the minus strand
        with torch.inference_mode():
            return model.forward(torch.from_numpy(one_hot(sequence)[None]))[0].numpy()[::-1]

    half = FLANK + distance
    for variant, result in zip(variants, results, strict=True):
        pos0, ref, alt = variant.pos1 - 1, variant.ref, variant.alts[0]
        x_ref = base(pos0 - half, 2 * half + 1)
        x_alt = x_ref[:half] + alt + x_ref[half + len(ref) :]
        y_ref, y_alt = run(x_ref), run(x_alt)
        c, m, k = distance, len(ref), len(alt)
        if k < m:
            y_alt = np.concatenate([y_alt[: c + k], np.zeros((m - k, 3)), y_alt[c + k :]])
        elif k > m:
            y_alt = np.concatenate(
                [y_alt[: c + m - 1], y_alt[c + m - 1 : c + k].max(0)[None], y_alt[c + k :]]
            )
        entry, raw = literal_entry(y_ref, y_alt, alt, brca1)
        assert result.entries == [entry]
        assert result.raw_entries == [raw]
        np.testing.assert_allclose(result.tracks[0].ref, y_ref, rtol=0, atol=2e-6)
        np.testing.assert_allclose(result.tracks[0].alt, y_alt, rtol=0, atol=2e-6)
        # the splice sites of the exon are hit: a real change, not a zero delta
        assert max(float(v) for v in entry.split("|")[2:6]) >= 0.2, entry


@pytest.mark.slow
@pytest.mark.weights
@needs_spliceai
@pytest.mark.parametrize("incremental", [True, False])
def test_prepare_reads_everything_so_run_needs_no_fasta(incremental):
    """annotate = run(prepare): every FASTA read happens in prepare (the pipeline prepares the
    next block on another thread), so run still works once the FASTA is closed, on the cone
    path (one-hot chunk inputs) and on whole windows alike, with annotate's entries."""
    from rnatools.io.gene_table import rows_from_gene_models
    from rnatools.models.spliceai import SpliceAIModel

    model = SpliceAIModel(weight_files=installed_weights())
    (brca1,) = rows_from_gene_models(BRCA1 / "brca1.gtf")
    start0 = 43_104_867  # an exon start (0-based)
    with Fasta(BRCA1 / "GRCh38.chr17.brca1.fa.gz") as fasta:
        ref = fasta.fetch("chr17", start0 - 3, start0 + 3)
        variants = [
            Variant("chr17", start0 + 1, ref[3], ("A" if ref[3] != "A" else "C",)),  # SNV
            Variant("chr17", start0 - 2, ref[:4], (ref[0],)),  # deletion of 3 nt
            Variant("chr17", start0 + 2, ref[4], (ref[4] + "GT",)),  # insertion of 2 nt
        ]
        scorer = DeltaScorer(
            model,
            fasta,
            GeneTable([brca1]),
            DeltaOptions(50),
            incremental=incremental,
            engine=Engine("cpu"),
        )
        expected = [result.entries for result in scorer.annotate(variants)]
        batch = scorer.prepare(variants)
    assert len(batch.inputs.encoded) == (1 if incremental else 0)
    assert len(batch.inputs.alt_windows) == (0 if incremental else 3)
    assert [result.entries for result in scorer.run(batch)] == expected


def test_header_lines_are_the_documented_ones():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "spliceai-scoring.md").read_text()
    assert raw_header_line("SpliceAI") + "\n" in doc
    assert transcript_header_line("SpliceAI_TX") + "\n" in doc

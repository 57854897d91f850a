"""Indels, MNVs and delins on the incremental (cone) path equal whole ALT windows.

* ``run_variants`` of :class:`rnatools.models.incremental.DilatedIncremental` on a small random
  residual dilated CNN (float64, so any difference is a bug and not rounding): every change
  position of a window (N inside, both window edges), deletions, insertions, delins and MNVs,
  output ranges left of, around and right of the change.
* ``DeltaScorer`` with the installed SpliceAI weights: the cone path (``incremental=True``)
  against whole windows (``incremental=False``) for deletions, insertions and delins on both
  strands, next to transcript bounds (N padding), at both ends of short reference chunks and
  near a contig end with ``pad_contig_ends``: identical entries, ALT tracks within 1e-5.
* ``PangolinScorer`` the same with ``$RNATOOLS_TEST_WEIGHTS/pangolin`` when set.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from rnatools.engine import Engine
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import GeneRow, GeneTable
from rnatools.models.base import VariantCone
from rnatools.models.dilated_cnn import DilatedResNet, Ensemble
from rnatools.models.incremental import DilatedIncremental
from rnatools.scoring.delta import DeltaOptions, DeltaScorer
from rnatools.scoring.variants import Variant
from rnatools.sequence import one_hot

# ---------------------------------------------------------------------------------------------
# the capability itself, on a small network


@pytest.fixture(scope="module")
def tiny_ensemble() -> Ensemble:
    torch.manual_seed(0)
    nets = []
    for slope in (0.0, 0.1):  # ReLU (SpliceAI, Pangolin) and LeakyReLU (OpenSpliceAI)
        net = DilatedResNet([(3, 1), (5, 2)], 3, negative_slope=slope, units_per_group=2)
        for name, tensor in [*net.named_parameters(), *net.named_buffers()]:
            with torch.no_grad():
                if name.endswith("scale"):
                    tensor.uniform_(0.5, 1.5)
                else:
                    tensor.normal_(0.0, 0.3)
        nets.append(net.eval())
    return Ensemble(nets).eval().double()


def test_run_variants_equals_whole_alt_windows(tiny_ensemble, monkeypatch):
    import rnatools.models.incremental as incremental

    monkeypatch.setattr(incremental, "one_hot", lambda s: one_hot(s).astype(np.float64))
    context = tiny_ensemble.context  # 20 nt
    rng = np.random.default_rng(1)
    sequence = "".join(rng.choice(list("ACGT"), 30 + 2 * context))
    sequence = sequence[:5] + "NNNN" + sequence[9:40] + "NN" + sequence[42:]
    cones = []
    for start in range(len(sequence)):
        kinds = [(1, 1), (3, 1), (1, 3), (2, 2), (5, 2), (2, 4), (0, 2)]
        for kind in rng.choice(len(kinds), 3, replace=False):
            ref_length, alt_length = kinds[kind]
            if start + ref_length > len(sequence):
                continue
            alt = "".join(rng.choice(list("ACGT"), alt_length))
            shift = alt_length - ref_length
            for lo, hi in [(-3, 4 + shift), (0, 1), (-12, 2), (alt_length, alt_length + 5)]:
                out_start, out_end = start + lo, start + hi
                if context <= out_start < out_end <= len(sequence) + shift - context:
                    cones.append(VariantCone(start, ref_length, alt, out_start, out_end))
    assert len(cones) > 250
    # three windows: two of one length and one 8 nt longer, all in one REF batch (padded with N
    # to one standard length, 512 nt; 3 x 512 <= window_nt), and the cones
    # of each batch drawn from several windows
    longer = sequence[:30] + "ACGTTGCA" + sequence[30:]
    other = "".join(rng.choice(list("ACGT"), len(sequence)))  # same length, other bases
    windows = [(sequence, cones[0::2]), (longer, []), (other, cones[1::2])]
    capability = DilatedIncremental(lambda: tiny_ensemble, snv_batch=4, window_nt=2000)
    passes: list[tuple[int, ...]] = []
    reference_pass = incremental._reference_pass

    def counted(net, x):
        passes.append(tuple(x.shape))
        return reference_pass(net, x)

    monkeypatch.setattr(incremental, "_reference_pass", counted)
    results = capability.run_windows(Engine("cpu"), windows)
    assert passes == [(3, 512, 4)] * len(tiny_ensemble.nets)
    ref, alts = capability.run_variants(Engine("cpu"), sequence, cones)
    with torch.inference_mode():

        def whole(text: str) -> np.ndarray:
            x = torch.from_numpy(one_hot(text)[None]).double()
            return tiny_ensemble(x)[0].float().numpy()

        np.testing.assert_allclose(ref, whole(sequence), rtol=0, atol=1e-7)
        np.testing.assert_allclose(results[1][0], whole(longer), rtol=0, atol=1e-7)
        assert results[1][1] == []
        for window in (0, 2):
            text, window_cones = windows[window]
            np.testing.assert_allclose(results[window][0], whole(text), rtol=0, atol=1e-7)
            for cone, alt in zip(window_cones, results[window][1], strict=True):
                alt_text = text[: cone.start] + cone.alt + text[cone.start + cone.ref_length :]
                expected = whole(alt_text)[cone.out_start - context : cone.out_end - context]
                np.testing.assert_allclose(alt, expected, rtol=0, atol=1e-7, err_msg=str(cone))
        changed = 0
        for cone, alt in zip(cones, alts, strict=True):
            alt_sequence = (
                sequence[: cone.start] + cone.alt + sequence[cone.start + cone.ref_length :]
            )
            expected = whole(alt_sequence)[cone.out_start - context : cone.out_end - context]
            np.testing.assert_allclose(alt, expected, rtol=0, atol=1e-7, err_msg=str(cone))
            changed += bool(np.abs(expected - alt).max() < np.abs(expected).max())
    assert changed == len(cones)
    with pytest.raises(ValueError, match="not inside"):
        DilatedIncremental(lambda: tiny_ensemble).run_variants(
            Engine("cpu"), sequence, [VariantCone(25, 2, "A", 10, 30)]
        )


class _RoomyEngine(Engine):
    """A CPU engine that reports a device-memory budget, as a CUDA engine does."""

    def memory_budget(self) -> int | None:
        return 1 << 22


def test_batches_grow_with_the_memory_budget_and_give_the_same_tracks(tiny_ensemble, monkeypatch):
    import rnatools.models.incremental as incremental

    monkeypatch.setattr(incremental, "one_hot", lambda s: one_hot(s).astype(np.float64))
    calls: list[int] = []
    cone_pass = incremental._cone_pass

    def counted(net, unit_stages, group_stages, windows, starts, alt_rows, shape):
        calls.append(len(starts))
        return cone_pass(net, unit_stages, group_stages, windows, starts, alt_rows, shape)

    monkeypatch.setattr(incremental, "_cone_pass", counted)
    rng = np.random.default_rng(5)
    context = tiny_ensemble.context
    sequence = "".join(rng.choice(list("ACGT"), 60 + 2 * context))
    cones = [
        VariantCone(start, 1, "A" if sequence[start] != "A" else "C", start - 3, start + 4)
        for start in range(context + 3, context + 57)
    ]
    capability = DilatedIncremental(lambda: tiny_ensemble, snv_batch=4, window_nt=100)
    ref, alts = capability.run_variants(Engine("cpu"), sequence, cones)
    per_net = len(tiny_ensemble.nets)
    assert len(cones) == 54 and calls == ([4] * 13 + [2]) * per_net  # snv_batch on the CPU
    calls.clear()
    # 4 MiB at 4 tensors x (2 x 20 + 7 + 1) positions x 32 channels x 4 bytes: room for 170
    # cones, so all 54 in two batches of standard sizes (48 + 6)
    roomy_ref, roomy_alts = capability.run_variants(_RoomyEngine("cpu"), sequence, cones)
    assert calls == [48, 6] * per_net
    np.testing.assert_allclose(roomy_ref, ref, rtol=0, atol=1e-7)
    np.testing.assert_allclose(np.stack(roomy_alts), np.stack(alts), rtol=0, atol=1e-7)


# ---------------------------------------------------------------------------------------------
# the scorers, real weights

D = 20


@pytest.fixture(scope="module")
def genome_files(tmp_path_factory) -> tuple[str, Path, GeneTable]:
    rng = np.random.default_rng(11)
    genome = "".join(rng.choice(list("ACGT"), 26_000))
    genome = genome[:14_000] + "N" * 30 + genome[14_030:]
    folder = tmp_path_factory.mktemp("indels")
    fasta = folder / "g.fa"
    fasta.write_text(
        ">chr1\n" + "\n".join(genome[i : i + 60] for i in range(0, len(genome), 60)) + "\n"
    )
    genes = GeneTable(
        [
            GeneRow("PLUS", "chr1", "+", 6_000, 6_600, (6_000, 6_400), (6_200, 6_600)),
            GeneRow("MINUS", "chr1", "-", 6_300, 25_990, (6_300, 25_000), (6_500, 25_990)),
        ]
    )
    return genome, fasta, genes


def indel_records(genome: str) -> list[Variant]:
    """Deletions, insertions, delins and an SNV at transcript bounds, in one chunk, at chunk
    ends and near the contig end (1-based positions)."""

    def record(pos1: int, ref_length: int, alt: str) -> Variant:
        return Variant("chr1", pos1, genome[pos1 - 1 : pos1 - 1 + ref_length], (alt,))

    def base(pos1: int) -> str:
        return "A" if genome[pos1 - 1] != "A" else "G"

    return [
        record(6_001, 3, genome[6_000]),  # deletion at the PLUS transcript start (N padding left)
        record(6_010, 1, genome[6_009] + "TTAGC"),  # insertion
        record(6_012, 1, base(6_012)),  # an SNV in the same chunk
        record(6_300, 2, genome[6_299] + "CAT"),  # insertion across both genes' bounds
        record(6_305, 4, "GA"),  # delins (shortening), both genes
        record(6_598, 6, genome[6_597]),  # deletion running past PLUS's transcript end
        record(6_595, 2, "TTTT"),  # delins (lengthening)
        record(10_000, 2, "CG"),  # MNV
        record(14_025, 1, genome[14_024] + "G"),  # insertion next to the N stretch
        record(20_000, 9, genome[19_999]),  # deletion, a chunk of its own
        record(25_950, 2, genome[25_949]),  # deletion near the contig end (needs padding)
        record(25_960, 1, genome[25_959] + "ACGTACGTAC"),  # long insertion near the contig end
    ]


def _compare(model, genome_files, chunk_length: int) -> None:
    genome, fasta_path, genes = genome_files
    records = indel_records(genome)
    options = DeltaOptions(D, mask=False, pad_contig_ends=True)
    with Fasta(fasta_path) as fasta:

        def scorer(incremental: bool) -> DeltaScorer:
            return DeltaScorer(
                model,
                fasta,
                genes,
                options,
                chunk_length=chunk_length,
                incremental=incremental,
                keep_tracks=True,
                raw_scores=True,
                score_mnv=True,
            )

        cone_scorer = scorer(True)
        whole, cone = scorer(False).annotate(records), cone_scorer.annotate(records)
    entries = [r.entries for r in whole]
    assert [r.entries for r in cone] == entries
    assert [r.raw_entries for r in cone] == [r.raw_entries for r in whole]
    assert sum(len(e) for e in entries) >= 14 and all(r.skip is None for r in whole)
    differs = 0
    for whole_record, cone_record in zip(whole, cone, strict=True):
        for whole_tracks, cone_tracks in zip(whole_record.tracks, cone_record.tracks, strict=True):
            # (the whole-window REF chunk ran batched with other windows: summation order)
            np.testing.assert_allclose(cone_tracks.ref, whole_tracks.ref, rtol=0, atol=1e-6)
            assert cone_tracks.alt.dtype == whole_tracks.alt.dtype
            np.testing.assert_allclose(cone_tracks.alt, whole_tracks.alt, rtol=0, atol=1e-5)
            differs += np.abs(whole_tracks.alt - whole_tracks.ref).max() > 1e-3
    assert differs >= 5  # the variants change the tracks (the comparison can fail)


@pytest.fixture(scope="module")
def spliceai_model():
    from rnatools.models.spliceai_weights import installed_weights

    if installed_weights() is None:
        pytest.skip("the spliceai package (its weights) is not installed")
    from rnatools.models.registry import load_model

    return load_model("spliceai", None, engine=Engine("cpu"))


@pytest.mark.slow
def test_spliceai_cone_path_equals_whole_windows(spliceai_model, genome_files):
    calls = []
    run_windows = spliceai_model.incremental.run_windows

    def counted(engine, windows):
        calls.append([len(variants) for _, variants in windows])
        return run_windows(engine, windows)

    spliceai_model.incremental.run_windows = counted
    try:
        _compare(spliceai_model, genome_files, chunk_length=60)
    finally:
        del spliceai_model.incremental.run_windows
    # one call for the block: every variant of every chunk (both genes) went through the cones
    assert len(calls) == 1 and len(calls[0]) >= 8 and sum(calls[0]) >= 14


def _pangolin_weights() -> Path:
    root = os.environ.get("RNATOOLS_TEST_WEIGHTS")
    if not root:
        pytest.skip("RNATOOLS_TEST_WEIGHTS not set (Pangolin weights)")
    path = Path(root) / "pangolin"
    if not path.is_dir():
        pytest.skip(f"no Pangolin weights at {path}")
    return path


@pytest.mark.slow
def test_pangolin_cone_path_equals_whole_windows(genome_files):
    from rnatools.models.registry import load_model
    from rnatools.scoring.pangolin import PangolinOptions, PangolinScorer

    model = load_model("pangolin", _pangolin_weights(), engine=Engine("cpu"))
    genome, fasta_path, genes = genome_files
    records = [r for r in indel_records(genome) if len(r.ref) == 1 or len(r.alts[0]) == 1]
    records = records[:2] + records[-2:]  # Pangolin is 13 networks: a few cases
    options = PangolinOptions(max_distance=D, pad_contig_ends=True)
    with Fasta(fasta_path) as fasta:
        whole = PangolinScorer(model, fasta, genes, options, incremental=False).score(records)
        cone = PangolinScorer(model, fasta, genes, options, incremental=True).score(records)
    assert [r.entries for r in cone] == [r.entries for r in whole]
    for whole_record, cone_record in zip(whole, cone, strict=True):
        for whole_scores, cone_scores in zip(whole_record.scores, cone_record.scores, strict=True):
            for w, c in zip(whole_scores, cone_scores, strict=True):
                np.testing.assert_allclose(c.gain, w.gain, rtol=0, atol=1e-5)
                np.testing.assert_allclose(c.loss, w.loss, rtol=0, atol=1e-5)

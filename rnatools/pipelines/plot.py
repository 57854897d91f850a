"""The plot pipelines: ``rnatools plot variant`` and ``rnatools plot region``.

* :func:`run_plot_variant`: REF and ALT acceptor/donor probabilities over POS ± D for every gene
  containing the variant, one panel per model, gene and ALT. The numbers come from the scorer
  ``rnatools annotate`` runs (:class:`~rnatools.scoring.delta.DeltaScorer`, same options, with
  ``keep_tracks``), so the labelled delta scores are the VCF's.
* :func:`run_plot_region`: acceptor/donor tracks over ``chrom:start-end`` on both strands (or the
  strand of the genes there), computed with
  :func:`~rnatools.scoring.splice_sites.predict_splice_sites` or read from the bigWigs
  ``rnatools predict -o PREFIX.bw`` wrote.

Figures are PNG, SVG or PDF (from the output's extension), written atomically and
deterministically (:mod:`rnatools.plotting.style`). Needs matplotlib (``rnatools[plot]``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rnatools.errors import InputError, UsageError
from rnatools.pipelines import ProgressFactory, no_progress
from rnatools.scoring.variants import Variant

DEFAULT_PLOT_DISTANCE = 500
"""nt each side of the variant drawn (and scored) by default."""
MAX_REGION_NT = 1_000_000
"""Longest region ``plot region`` takes."""


@dataclass(frozen=True, kw_only=True)
class FigureSettings:
    """What every figure run takes: the output, the models and the engine.

    Attributes:
        output: figure path; format from the extension (``.png``, ``.svg``, ``.pdf``).
        models: splice-site models (registry names).
        width, height, dpi: figure size in inches (height None = automatic) and PNG resolution.
        device, precision, threads: of the engine; weights: of the first model.

    Raises:
        UsageError: an unknown figure format or a size out of range.
    """

    output: str | Path
    models: tuple[str, ...] = ("spliceai",)
    width: float = 10.0
    height: float | None = None
    dpi: int = 150
    device: str = "auto"
    precision: str = "fp32"
    threads: int = 0
    weights: str | Path | None = None

    def __post_init__(self) -> None:
        from rnatools.plotting.style import check_size, figure_format

        object.__setattr__(self, "models", tuple(self.models))
        figure_format(self.output)
        check_size(self.width, self.height, self.dpi)


@dataclass(frozen=True, kw_only=True)
class PlotVariantSettings(FigureSettings):
    """One ``rnatools plot variant`` run.

    Attributes:
        fasta, annotation: reference and genes (as annotate's).
        variant: the variant (:func:`rnatools.pipelines.score.parse_variant`), or None with
            ``vcf``.
        vcf: a VCF to take the variant from, with ``record_id`` or ``record_number``.
        record_id: the ID column of the record to plot.
        record_number: 1-based number of the data record to plot.
        models: SpliceAI-family models (registry names with acceptor and donor channels).
        max_distance: D (nt): the figure spans POS ± D, the delta scores are over it.
        mask: SpliceAI's ``-M 1``.
        batch_size: windows per model call; the rest as :class:`FigureSettings`.
    """

    fasta: str | Path
    annotation: str | Path
    variant: Variant | None = None
    vcf: str | Path | None = None
    record_id: str | None = None
    record_number: int | None = None
    max_distance: int = DEFAULT_PLOT_DISTANCE
    mask: bool = False
    batch_size: int = 32

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.variant is None) == (self.vcf is None):
            raise UsageError(
                "give a variant or a VCF record (vcf with record_id/record_number)", parameter="vcf"
            )
        if self.vcf is not None and (self.record_id is None) == (self.record_number is None):
            raise UsageError(
                "with a VCF give exactly one of an ID and a record number", parameter="id"
            )
        if self.record_number is not None and self.record_number < 1:
            raise UsageError(f"must be >= 1, got {self.record_number}", parameter="record")
        if not self.models:
            raise UsageError("no model given", parameter="models")


@dataclass(frozen=True)
class PlotSummary:
    """What a plot run drew: the output, its panels, the INFO entries labelled (variant plots),
    and the seconds it took."""

    output: str
    panels: int
    entries: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    variant: str = ""


def read_vcf_variant(
    path: str | Path, record_id: str | None = None, record_number: int | None = None
) -> Variant:
    """The record of ``path`` with ID ``record_id`` (the first such) or the ``record_number``-th
    data record (1-based).

    Raises:
        InputError: the file cannot be read, or holds no such record.
    """
    from rnatools.io.vcf import MalformedRecord, iter_records, open_vcf

    vcf = open_vcf(path)
    try:
        for number, record in enumerate(iter_records(vcf), start=1):
            if isinstance(record, MalformedRecord):
                continue
            ids = (record.id or "").split(";")
            if (record_id is not None and record_id in ids) or number == record_number:
                return Variant(record.chrom, record.pos, record.ref or "", record.alts)
    finally:
        vcf.close()
    what = (
        f"no record with ID {record_id!r}"
        if record_id is not None
        else (f"no record number {record_number}")
    )
    raise InputError(what, path)


def _splice_model(name: str, weights, engine):
    from rnatools.models.registry import get_model_info, load_model

    get_model_info(name, "splice")  # unknown or language models: UsageError
    model = load_model(name, weights, engine=engine)
    if getattr(model, "acceptor_channel", None) is None or model.donor_channel is None:
        raise UsageError(
            f"{name} has no acceptor and donor channels; plot variant draws "
            "SpliceAI-family models (spliceai, openspliceai-mane, ...)",
            parameter="models",
        )
    return model


def delta_scorers(settings: PlotVariantSettings, engine, fasta, genes) -> list:
    """``(model name, DeltaScorer with keep_tracks)`` for each model of ``settings``: the scorer
    annotate runs, with the same options."""
    from rnatools.scoring.delta import DeltaOptions, DeltaScorer

    options = DeltaOptions(settings.max_distance, settings.mask)
    scorers = []
    for index, name in enumerate(settings.models):
        model = _splice_model(name, settings.weights if index == 0 else None, engine)
        scorers.append(
            (
                name,
                DeltaScorer(
                    model,
                    fasta,
                    genes,
                    options,
                    engine=engine,
                    batch_size=settings.batch_size,
                    keep_tracks=True,
                ),
            )
        )
    return scorers


def panels_of_variants(scorers: list, variants: list[Variant]) -> list:
    """Per variant, its panels (model order, then entry order), or the
    :class:`~rnatools.errors.InputError` saying why no model scored it. Each model scores all
    variants in one pass (shared reference tracks)."""
    from rnatools.plotting.variant import VariantPanel

    panels: list[list] = [[] for _ in variants]
    skips: list[list[str]] = [[] for _ in variants]
    for name, scorer in scorers:
        for index, result in enumerate(scorer.annotate(variants)):
            tracks_list = result.tracks or [None] * len(result.entries)
            if result.skip is not None and not any(t is not None for t in tracks_list):
                skips[index].append(f"{name}: {result.skip.value}")
            for entry, tracks in zip(result.entries, tracks_list, strict=True):
                if tracks is None:
                    continue
                a, d = tracks.acceptor_channel, tracks.donor_channel
                panels[index].append(
                    VariantPanel(
                        model=name,
                        gene=tracks.gene,
                        allele=tracks.allele,
                        start0=tracks.start0,
                        ref_acceptor=tracks.ref[:, a],
                        ref_donor=tracks.ref[:, d],
                        alt_acceptor=tracks.alt[:, a],
                        alt_donor=tracks.alt[:, d],
                        entry=entry,
                    )
                )
    out: list = []
    for variant, found, reasons in zip(variants, panels, skips, strict=True):
        if found:
            out.append(found)
        else:
            why = "; ".join(reasons) or "no gene to score"
            out.append(InputError(f"{_text(variant)}: not scored ({why})"))
    return out


def variant_panels(settings: PlotVariantSettings, variant: Variant, engine, fasta, genes):
    """Score ``variant`` with each model (annotate's scorer, ``keep_tracks``) → panels.

    Raises:
        InputError: no model scored the variant (the skip reasons are named).
    """
    (result,) = panels_of_variants(delta_scorers(settings, engine, fasta, genes), [variant])
    if isinstance(result, InputError):
        raise result
    return result


def _text(variant: Variant) -> str:
    return f"{variant.chrom}:{variant.pos1} {variant.ref}>{','.join(variant.alts or ('.',))}"


def save(fig, output: str | Path, dpi: int) -> None:
    """Write ``fig`` atomically and deterministically (format from the extension)."""
    import matplotlib.pyplot as plt

    from rnatools.io.atomic import atomic_output
    from rnatools.plotting.style import figure_format, save_figure

    try:
        with atomic_output(output, "wb") as handle:
            save_figure(fig, handle, figure_format(output), dpi)
    finally:
        plt.close(fig)


def run_plot_variant(
    settings: PlotVariantSettings, progress: ProgressFactory = no_progress
) -> PlotSummary:
    """Draw the variant figure of ``settings`` (module docstring).

    Raises:
        PlotDependencyError: matplotlib is missing (exit code 3).
        UsageError: bad settings; a model without acceptor/donor channels.
        InputError: unreadable inputs; a VCF without the record; a variant that is not scored.
        OutputError: the figure cannot be written.
        MissingWeightsError: model weights not found.
    """
    from rnatools.engine import Engine
    from rnatools.io.atomic import check_output_folder
    from rnatools.io.fasta import Fasta
    from rnatools.io.gene_table import load_gene_table
    from rnatools.plotting import require_matplotlib
    from rnatools.plotting.variant import draw_variant_figure

    require_matplotlib("plot variant")
    started = time.perf_counter()
    check_output_folder(settings.output)
    engine = Engine(settings.device, settings.precision, settings.threads)
    variant = settings.variant
    if variant is None:
        variant = read_vcf_variant(settings.vcf, settings.record_id, settings.record_number)  # type: ignore[arg-type]
    genes = load_gene_table(settings.annotation)
    with Fasta(settings.fasta) as fasta, progress("scoring", len(settings.models), "models") as bar:
        panels = variant_panels(settings, variant, engine, fasta, genes)
        bar.advance(len(settings.models))
    fig = draw_variant_figure(
        variant.chrom,
        variant.pos1,
        variant.ref,
        panels,
        width=settings.width,
        height=settings.height,
    )
    save(fig, settings.output, settings.dpi)
    return PlotSummary(
        str(settings.output),
        len(panels),
        tuple(p.entry for p in panels),
        time.perf_counter() - started,
        _text(variant),
    )


@dataclass(frozen=True, kw_only=True)
class PlotRegionSettings(FigureSettings):
    """One ``rnatools plot region`` run.

    Attributes:
        region: ``chrom:start-end``, 1-based inclusive, at most :data:`MAX_REGION_NT` nt.
        fasta: reference FASTA (needed unless ``tracks`` is given).
        annotation: genes to draw (and whose strand to show), or None.
        models: splice-site models to compute tracks with (ignored with ``tracks``).
        tracks: prefix of ``rnatools predict`` bigWigs (``PREFIX.acceptor.plus.bw`` ...; a
            trailing ``.bw`` is dropped) to read instead of computing.
        strand: ``auto`` (the genes' strand when the annotation puts all genes there on one,
            else both), ``+``, ``-`` or ``both``.
        batch_size: windows per model call; the rest as :class:`FigureSettings`.
    """

    region: str
    fasta: str | Path | None = None
    annotation: str | Path | None = None
    tracks: str | None = None
    strand: str = "auto"
    batch_size: int = 8

    def __post_init__(self) -> None:
        from rnatools.genome import parse_region

        super().__post_init__()
        try:
            interval = parse_region(self.region, parameter="region")
        except UsageError as exc:  # the region is the command's argument, not an option
            raise UsageError(f"region {exc}") from None
        if interval.length > MAX_REGION_NT:
            raise UsageError(
                f"region {self.region}: {interval.length:,} nt; at most {MAX_REGION_NT:,} nt"
            )
        if self.strand not in ("auto", "+", "-", "both"):
            raise UsageError(
                f"expected auto, +, - or both, got {self.strand!r}", parameter="strand"
            )
        if self.tracks is None and self.fasta is None:
            raise UsageError(
                "computing tracks needs the reference FASTA (or give tracks)", parameter="fasta"
            )


def region_genes(genes, chrom: str, start0: int, end0: int) -> list:
    """Gene rows on ``chrom`` whose transcript overlaps ``[start0, end0)``, in table order."""
    if genes is None:
        return []
    name = genes.contigs.get(chrom)
    if name is None:
        return []
    return [g for g in genes.rows if g.chrom == name and g.tx_start0 < end0 and g.tx_end0 > start0]


def region_strands(mode: str, genes: list) -> list[str]:
    """Strands to draw: ``mode``'s, or for ``auto`` the genes' single strand, else both."""
    if mode == "both":
        return ["+", "-"]
    if mode in ("+", "-"):
        return [mode]
    strands = {g.strand for g in genes}
    return sorted(strands) if len(strands) == 1 else ["+", "-"]


def bigwig_prefix(text: str) -> str:
    """``out.bw`` / ``out.bigwig`` / ``out`` → ``out`` (the prefix ``predict`` was given)."""
    for suffix in (".bw", ".bigwig", ".bigWig"):
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def read_bigwig_tracks(prefix: str, chrom: str, start0: int, end0: int, strand: str):
    """Acceptor and donor arrays of ``[start0, end0)`` from ``predict``'s bigWigs (positions
    without a value read 0).

    Raises:
        InputError: a file is missing or unreadable, or lacks the contig.
    """
    import numpy as np
    import pyBigWig

    from rnatools.genome import match_contig

    out = []
    word = "plus" if strand == "+" else "minus"
    for channel in ("acceptor", "donor"):
        path = f"{prefix}.{channel}.{word}.bw"
        if not Path(path).is_file():
            raise InputError(f"bigWig not found (rnatools predict -o {prefix}.bw writes it)", path)
        handle = pyBigWig.open(path)
        if handle is None:
            raise InputError("not a bigWig file", path)
        try:
            name = match_contig(chrom, list(handle.chroms()), path)
            values = np.asarray(handle.values(name, start0, end0, numpy=True), dtype=np.float32)
        except RuntimeError as exc:
            raise InputError(f"cannot read {chrom}:{start0 + 1}-{end0}: {exc}", path) from exc
        finally:
            handle.close()
        out.append(np.nan_to_num(values, nan=0.0))
    return out[0], out[1]


def region_panels(
    settings: PlotRegionSettings,
    chrom: str,
    start0: int,
    end0: int,
    strands: list[str],
    progress: ProgressFactory = no_progress,
) -> list:
    """The tracks of every model (or of the bigWigs) and strand → panels."""
    import numpy as np

    from rnatools.plotting.region import RegionPanel

    panels = []
    if settings.tracks is not None:
        prefix = bigwig_prefix(settings.tracks)
        for strand in strands:
            acceptor, donor = read_bigwig_tracks(prefix, chrom, start0, end0, strand)
            panels.append(RegionPanel(f"bigWig {Path(prefix).name}", strand, acceptor, donor))
        return panels
    from rnatools.engine import Engine
    from rnatools.genome import Interval
    from rnatools.io.fasta import Fasta
    from rnatools.scoring.splice_sites import predict_splice_sites

    engine = Engine(settings.device, settings.precision, settings.threads)
    with Fasta(settings.fasta) as fasta:  # type: ignore[arg-type]
        contig = fasta.resolve(chrom)
        if end0 > fasta.length(contig):
            raise InputError(
                f"{settings.region} ends past the end of {contig} ({fasta.length(contig):,} nt)",
                settings.fasta,
            )
        total = (end0 - start0) * len(strands) * len(settings.models)
        with progress("predicting", total, "nt") as bar:
            for index, name in enumerate(settings.models):
                model = _splice_model(name, settings.weights if index == 0 else None, engine)
                for strand in strands:
                    tracks = list(
                        predict_splice_sites(
                            model,
                            fasta,
                            [Interval(contig, start0, end0, strand)],
                            engine=engine,
                            batch_size=settings.batch_size,
                            on_chunk=bar.advance,
                        )
                    )
                    acceptor = np.concatenate([t.acceptor for t in tracks])
                    donor = np.concatenate([t.donor for t in tracks])
                    panels.append(RegionPanel(name, strand, acceptor, donor))
    return panels


def run_plot_region(
    settings: PlotRegionSettings, progress: ProgressFactory = no_progress
) -> PlotSummary:
    """Draw the region figure of ``settings`` (module docstring).

    Raises:
        PlotDependencyError: matplotlib is missing (exit code 3).
        UsageError: bad settings.
        InputError: unreadable inputs, missing bigWigs, a region past the contig's end.
        ContigNotFoundError: the contig is not in the FASTA.
        OutputError: the figure cannot be written.
        MissingWeightsError: model weights not found.
    """
    from rnatools.genome import parse_region
    from rnatools.io.atomic import check_output_folder
    from rnatools.io.gene_table import load_gene_table
    from rnatools.plotting import require_matplotlib
    from rnatools.plotting.region import draw_region_figure

    require_matplotlib("plot region")
    started = time.perf_counter()
    check_output_folder(settings.output)
    interval = parse_region(settings.region)
    genes_table = load_gene_table(settings.annotation) if settings.annotation else None
    genes = region_genes(genes_table, interval.chrom, interval.start, interval.end)
    strands = region_strands(settings.strand, genes)
    panels = region_panels(
        settings, interval.chrom, interval.start, interval.end, strands, progress
    )
    fig = draw_region_figure(
        interval.chrom,
        interval.start,
        interval.end,
        panels,
        genes,
        width=settings.width,
        height=settings.height,
    )
    save(fig, settings.output, settings.dpi)
    return PlotSummary(
        str(settings.output), len(panels), (), time.perf_counter() - started, settings.region
    )


__all__ = [
    "DEFAULT_PLOT_DISTANCE",
    "MAX_REGION_NT",
    "PlotRegionSettings",
    "PlotSummary",
    "PlotVariantSettings",
    "delta_scorers",
    "panels_of_variants",
    "read_bigwig_tracks",
    "read_vcf_variant",
    "region_genes",
    "region_strands",
    "run_plot_region",
    "run_plot_variant",
]

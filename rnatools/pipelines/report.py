"""The report pipeline: one self-contained HTML page about an annotated VCF
(``rnatools report ANNOTATED.vcf.gz -o report.html``).

It reads the entries rnatools wrote (INFO ``SpliceAI``, ``OpenSpliceAI``, ``Pangolin`` and their
``_TX`` forms, parsed by :func:`rnatools.scoring.entries.parse_entries`; ``SpliceBERT`` entries
are counted) and shows: records and alleles scored per key, the records not scored (from the
skip report when given, else what the VCF tells: records without the key, records whose entries
are all ``.``), the distribution of each key's per-record max score, the top-N variants by max
delta score with the ClinGen SVI splicing class (Walker et al. 2023,
doi:10.1016/j.ajhg.2023.06.002: SpliceAI ≥ 0.2 supporting PP3, ≤ 0.1 supporting BP4), per-gene
counts, and, given the FASTA and the annotation, the variant figure of each top variant
(:mod:`rnatools.pipelines.plot`; needs matplotlib).
"""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rnatools.errors import InputError, UsageError
from rnatools.pipelines import ProgressFactory, no_progress
from rnatools.scoring.variants import Variant

DELTA_KEYS = (
    "SpliceAI",
    "OpenSpliceAI",
    "Pangolin",
    "SpliceAI_TX",
    "OpenSpliceAI_TX",
    "Pangolin_TX",
)
"""INFO keys whose entries carry a max score (in this order)."""
COUNT_KEYS = ("SpliceBERT",)
"""INFO keys only counted (their scores are not delta scores)."""
HISTOGRAM_BINS = 20
FIGURE_DPI = 80
"""Resolution of the embedded PNG figures (9 inches wide: 720 pixels)."""
SCORE_NAMES = ("DS_AG", "DS_AL", "DS_DG", "DS_DL")
_SETTINGS = re.compile(r"^##rnatools_settings=<(?P<body>.*)>$")


@dataclass(frozen=True, kw_only=True)
class ReportSettings:
    """One ``rnatools report`` run.

    Attributes:
        input: the annotated VCF/BCF.
        output: the HTML page to write.
        fasta, annotation: both or neither; with them, the top variants' figures are embedded.
        top: rows of the top-variant table (>= 1).
        plots: figures to embed (the first ``plots`` top variants; None = all of them).
        skip_report: annotate's ``--skip-report`` TSV, for the skip reasons.
        models: models drawn in the figures (SpliceAI family).
        max_distance: D of the figures; None = the VCF's ``##rnatools_settings`` distance when
            it states one, else 50 (annotate's default), so the labels match the table.
        mask: SpliceAI's ``-M 1`` for the figures; None = the VCF's settings, else off.
        device, precision, threads, weights: of the figures' model.
    """

    input: str | Path
    output: str | Path
    fasta: str | Path | None = None
    annotation: str | Path | None = None
    top: int = 50
    plots: int | None = None
    skip_report: str | Path | None = None
    models: tuple[str, ...] = ("spliceai",)
    max_distance: int | None = None
    mask: bool | None = None
    device: str = "auto"
    precision: str = "fp32"
    threads: int = 0
    weights: str | Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        if self.top < 1:
            raise UsageError(f"must be >= 1, got {self.top}", parameter="top")
        if self.plots is not None and self.plots < 0:
            raise UsageError(f"must be >= 0, got {self.plots}", parameter="plots")
        if (self.fasta is None) != (self.annotation is None):
            raise UsageError(
                "figures need both the FASTA and the annotation",
                parameter="fasta" if self.fasta is None else "annotation",
            )


@dataclass(frozen=True)
class ReportSummary:
    """What the report holds: records read, per key the records with a numeric score, the top
    rows, the figures embedded and the seconds taken."""

    output: str
    records: int
    scored: dict[str, int] = field(default_factory=dict)
    top_rows: int = 0
    figures: int = 0
    elapsed_s: float = 0.0


@dataclass
class _Best:
    record: int
    variant: Variant
    ident: str
    score: float
    key: str
    gene: str
    allele: str
    detail: str
    spliceai: float | None


def header_settings(lines: list[str]) -> dict[str, dict[str, str]]:
    """``##rnatools_settings=<key=SpliceAI,distance=50,...>`` lines → {key: {field: value}}."""
    found: dict[str, dict[str, str]] = {}
    for line in lines:
        match = _SETTINGS.match(line.strip())
        if match is None:
            continue
        fields = dict(part.split("=", 1) for part in match["body"].split(",") if "=" in part)
        if "key" in fields:
            found[fields["key"]] = fields
    return found


def _entry_detail(entry) -> tuple[float | None, str]:
    from rnatools.scoring.entries import DeltaEntry

    if isinstance(entry, DeltaEntry):
        best, where = None, ""
        for name, score, position in zip(SCORE_NAMES, entry.scores, entry.positions, strict=True):
            if score is not None and (best is None or score > best):
                best, where = score, f"{name} {score:.2f} at {position} nt"
        return best, where
    return entry.max_score, (
        f"gain {entry.gain:.2f} at {entry.gain_position} nt, "
        f"loss {entry.loss:.2f} at {entry.loss_position} nt"
    )


def _histogram(key: str, values: list[float]):
    from rnatools.plotting.html import Histogram

    edges = tuple(k / HISTOGRAM_BINS for k in range(HISTOGRAM_BINS + 1))
    counts = [0] * HISTOGRAM_BINS
    for value in values:
        counts[min(max(int(value * HISTOGRAM_BINS), 0), HISTOGRAM_BINS - 1)] += 1
    return Histogram(key, edges, tuple(counts))


def _read_skip_report(path: str | Path) -> Counter:
    reasons: Counter[str] = Counter()
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith("#") or not line.strip():
                    continue
                fields = line.rstrip("\n").split("\t")
                if len(fields) < 6:
                    raise InputError(
                        "expected 6 tab-separated columns (annotate --skip-report)", path, number
                    )
                reasons[fields[5]] += 1
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path) from exc
    return reasons


def _variant_text(variant: Variant) -> str:
    return f"{variant.chrom}:{variant.pos1} {variant.ref}>{','.join(variant.alts or ('.',))}"


def scan_vcf(path: str | Path, progress: ProgressFactory = no_progress) -> dict:
    """Read every record's rnatools entries: counts, per-key max scores, the best entry of each
    record, per-gene counts.

    Raises:
        InputError: unreadable input, or an entry that cannot be parsed (file and line named).
    """
    from rnatools.io.vcf import MalformedRecord, iter_records, open_vcf
    from rnatools.scoring.entries import parse_entries

    vcf = open_vcf(path)
    header_lines = str(vcf.header).splitlines()
    declared = set(vcf.header.info.keys())
    keys = [k for k in DELTA_KEYS if k in declared]
    count_keys = [k for k in COUNT_KEYS if k in declared]
    records = 0
    with_key: Counter[str] = Counter()
    scored: Counter[str] = Counter()
    alleles: Counter[str] = Counter()
    all_dots: Counter[str] = Counter()
    maxima: dict[str, list[float]] = {k: [] for k in keys}
    best: list[_Best] = []
    genes: dict[str, list] = {}
    try:
        with progress("reading", None, "records") as bar:
            for record in iter_records(vcf, path):
                if isinstance(record, MalformedRecord):
                    continue
                records += 1
                bar.advance(1)
                variant = Variant(record.chrom, record.pos, record.ref or "", record.alts)
                top: _Best | None = None
                spliceai: float | None = None
                for key in keys + count_keys:
                    if key not in record.info:
                        continue
                    with_key[key] += 1
                    value = record.info[key]
                    value = list(value) if isinstance(value, tuple) else [value]
                    if key in count_keys:
                        scored[key] += 1
                        continue
                    try:
                        entries = parse_entries(
                            key, value, alts=record.alts if key.startswith("Pangolin") else None
                        )
                    except ValueError as exc:
                        raise InputError(
                            f"{record.chrom}:{record.pos}: {exc}", path, getattr(vcf, "line", None)
                        ) from exc
                    record_max: float | None = None
                    seen_alleles = set()
                    for entry in entries:
                        score, detail = _entry_detail(entry)
                        if score is None:
                            continue
                        seen_alleles.add(entry.allele)
                        genes.setdefault(entry.gene, []).append((records, score, key))
                        if record_max is None or score > record_max:
                            record_max = score
                        if top is None or score > top.score:
                            top = _Best(
                                records,
                                variant,
                                record.id or ".",
                                score,
                                key,
                                entry.gene,
                                entry.allele or ".",
                                detail,
                                None,
                            )
                    if record_max is None:
                        all_dots[key] += 1
                        continue
                    scored[key] += 1
                    alleles[key] += len(seen_alleles)
                    maxima[key].append(record_max)
                    if key == "SpliceAI":
                        spliceai = record_max
                if top is not None:
                    top.spliceai = spliceai
                    best.append(top)
    finally:
        vcf.close()
    return {
        "records": records,
        "keys": keys,
        "count_keys": count_keys,
        "with_key": with_key,
        "scored": scored,
        "alleles": alleles,
        "all_dots": all_dots,
        "maxima": maxima,
        "best": best,
        "genes": genes,
        "settings": header_settings(header_lines),
    }


def _gene_rows(genes: dict[str, list]) -> list[tuple[str, int, int, int, str]]:
    from rnatools.plotting.html import BP4_THRESHOLD, PP3_THRESHOLD

    rows = []
    for gene, hits in genes.items():
        per_record: dict[int, float] = {}
        for record, score, _key in hits:
            per_record[record] = max(score, per_record.get(record, score))
        values = list(per_record.values())
        rows.append(
            (
                gene,
                len(values),
                sum(v >= PP3_THRESHOLD for v in values),
                sum(v <= BP4_THRESHOLD for v in values),
                f"{max(values):.2f}",
            )
        )
    rows.sort(key=lambda row: (-row[2], -row[1], row[0]))
    return rows


def _figures(settings: ReportSettings, chosen: list[_Best], scan: dict, progress) -> list:
    """PNG figures (caption, bytes) of ``chosen``, scored in one pass per model."""
    from rnatools.engine import Engine
    from rnatools.io.fasta import Fasta
    from rnatools.io.gene_table import load_gene_table
    from rnatools.pipelines.plot import PlotVariantSettings, delta_scorers, panels_of_variants
    from rnatools.plotting import require_matplotlib
    from rnatools.plotting.style import save_figure
    from rnatools.plotting.variant import draw_variant_figure

    plt = require_matplotlib("report figures")
    stated = scan["settings"].get("SpliceAI", {})
    distance = settings.max_distance
    if distance is None:
        distance = int(stated.get("distance", 50))
    mask = settings.mask if settings.mask is not None else stated.get("mask", "0") == "1"
    engine = Engine(settings.device, settings.precision, settings.threads)
    genes = load_gene_table(settings.annotation)  # type: ignore[arg-type]
    plot_settings = PlotVariantSettings(
        output="figure.png",
        fasta=settings.fasta,
        annotation=settings.annotation,  # type: ignore[arg-type]
        variant=chosen[0].variant,
        models=settings.models,
        max_distance=distance,
        mask=mask,
        device=settings.device,
        weights=settings.weights,
    )
    figures = []
    with Fasta(settings.fasta) as fasta, progress("figures", len(chosen), "variants") as bar:  # type: ignore[arg-type]
        scorers = delta_scorers(plot_settings, engine, fasta, genes)
        results = panels_of_variants(scorers, [best.variant for best in chosen])
        for best, panels in zip(chosen, results, strict=True):
            bar.advance(1)
            if isinstance(panels, InputError):
                figures.append((f"{_variant_text(best.variant)}: no figure ({panels})", b""))
                continue
            fig = draw_variant_figure(
                best.variant.chrom, best.variant.pos1, best.variant.ref, panels, width=9.0
            )
            buffer = io.BytesIO()
            save_figure(fig, buffer, "png", FIGURE_DPI)
            plt.close(fig)
            caption = (
                f"#{len(figures) + 1} {_variant_text(best.variant)} (ID {best.ident}), "
                f"±{distance} nt{', masked' if mask else ''}"
            )
            figures.append((caption, buffer.getvalue()))
    return figures


def build_report(settings: ReportSettings, progress: ProgressFactory = no_progress):
    """The page's data (:class:`~rnatools.plotting.html.ReportData`) and the summary."""
    from rnatools.plotting.html import ReportData, clingen_class

    started = time.perf_counter()
    scan = scan_vcf(settings.input, progress)
    data = ReportData(title=Path(str(settings.input)).name)
    records = scan["records"]
    data.facts.append(("input", str(settings.input)))
    data.facts.append(("records", str(records)))
    for key in scan["keys"] + scan["count_keys"]:
        data.facts.append((f"{key}: records with an entry", str(scan["with_key"][key])))
        data.facts.append((f"{key}: records with a numeric score", str(scan["scored"][key])))
        if key in scan["keys"]:
            data.facts.append((f"{key}: alleles scored", str(scan["alleles"][key])))
    if not scan["keys"] and not scan["count_keys"]:
        data.notes.append(
            "The VCF declares none of the INFO keys rnatools writes "
            f"({', '.join(DELTA_KEYS + COUNT_KEYS)}): was it annotated?"
        )
    if settings.skip_report is not None:
        reasons = _read_skip_report(settings.skip_report)
        data.skips = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        data.skip_source = f"From the skip report {settings.skip_report}."
    else:
        for key in scan["keys"] + scan["count_keys"]:
            missing = records - scan["with_key"][key]
            if missing:
                data.skips.append(
                    (
                        f"{key}: no entry (skipped: intergenic, contig or REF "
                        "mismatch, symbolic allele, ...)",
                        missing,
                    )
                )
            if scan["all_dots"][key]:
                data.skips.append((f"{key}: entries of '.' only (MNV)", scan["all_dots"][key]))
        data.skip_source = "Derived from the VCF (give --skip-report for the reasons per record)."
    data.histograms = [
        _histogram(key, scan["maxima"][key]) for key in scan["keys"] if scan["maxima"][key]
    ]
    best = sorted(scan["best"], key=lambda b: (-b.score, b.record))[: settings.top]
    data.top_columns = [
        "rank",
        "variant",
        "ID",
        "gene",
        "allele",
        "max score",
        "model",
        "where",
        "SpliceAI max",
        "class",
    ]
    for rank, row in enumerate(best, start=1):
        data.top_rows.append(
            [
                str(rank),
                _variant_text(row.variant),
                row.ident,
                row.gene,
                row.allele,
                f"{row.score:.2f}",
                row.key,
                row.detail,
                "." if row.spliceai is None else f"{row.spliceai:.2f}",
                clingen_class(row.spliceai),
            ]
        )
    data.genes = _gene_rows(scan["genes"])
    if settings.fasta is not None and best:
        count = len(best) if settings.plots is None else min(settings.plots, len(best))
        figures = _figures(settings, best[:count], scan, progress)
        data.figures = [(caption, png) for caption, png in figures if png]
        data.notes += [caption for caption, png in figures if not png]
    summary = ReportSummary(
        str(settings.output),
        records,
        dict(scan["scored"]),
        len(data.top_rows),
        len(data.figures),
        time.perf_counter() - started,
    )
    return data, summary


def run_report(settings: ReportSettings, progress: ProgressFactory = no_progress) -> ReportSummary:
    """Write the HTML report of ``settings`` (module docstring), atomically.

    Raises:
        UsageError: bad settings.
        InputError: unreadable input or skip report; an entry that cannot be parsed.
        PlotDependencyError: figures asked for and matplotlib missing (exit code 3).
        OutputError: the page cannot be written.
        MissingWeightsError: the figures' model weights not found.
    """
    from rnatools.io.atomic import atomic_output, check_output_folder
    from rnatools.plotting.html import render_report

    check_output_folder(settings.output)
    if settings.fasta is not None:
        from rnatools.plotting import require_matplotlib

        require_matplotlib("report figures")
    data, summary = build_report(settings, progress)
    page = render_report(data)
    with atomic_output(settings.output) as handle:
        handle.write(page)
    return summary


__all__ = [
    "ReportSettings",
    "ReportSummary",
    "build_report",
    "header_settings",
    "run_report",
    "scan_vcf",
]

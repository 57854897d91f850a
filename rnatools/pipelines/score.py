"""The score pipeline: the INFO entries ``rnatools annotate`` writes, for variants typed on the
command line (``rnatools score chr17:43047642:C:T``), as rows of a table.

The numbers are annotate's by construction: the variants are written to a temporary VCF (sorted,
its header declaring the FASTA's contigs, each record's ID its input index), run through
:func:`rnatools.pipelines.annotate.run_annotate` with the same settings, and the entries read
back and parsed (:func:`rnatools.scoring.entries.parse_entries`). Skipped variants come back
from annotate's skip report, one row per model with the reason.

Variant texts (:func:`parse_variant`): ``chr:pos:ref:alt`` (``alt`` may list ALTs with
commas), ``chr-pos-ref-alt`` (SpliceAI-lookup and gnomAD style) and ``chr:pos ref>alt``; ``pos``
is the 1-based VCF ``POS``.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rnatools.errors import InputError, UsageError
from rnatools.pipelines import ProgressFactory, no_progress
from rnatools.scoring.variants import Variant

VARIANT_FORMS = "chr:pos:ref:alt, chr-pos-ref-alt or 'chr:pos ref>alt' (pos 1-based)"

_ALLELE = r"[ACGTNacgtn]+"
_ALTS = rf"{_ALLELE}(?:,{_ALLELE})*"
_FORMS = (
    re.compile(rf"^(?P<chrom>[^\s:]+):(?P<pos>\d+):(?P<ref>{_ALLELE}):(?P<alt>{_ALTS})$"),
    re.compile(rf"^(?P<chrom>\S+)-(?P<pos>\d+)-(?P<ref>{_ALLELE})-(?P<alt>{_ALLELE})$"),
    re.compile(rf"^(?P<chrom>[^\s:]+):(?P<pos>\d+)\s+(?P<ref>{_ALLELE})>(?P<alt>{_ALTS})$"),
)
_POSITION_ONLY = re.compile(r"^[^\s:]+:\d+$")
_CHANGE_ONLY = re.compile(rf"^{_ALLELE}>{_ALTS}$")

DEFAULT_INFO_KEYS = {"spliceai": "SpliceAI", "splicebert": "SpliceBERT", "pangolin": "Pangolin"}
"""Model → INFO key when annotate does not publish its own table (OpenSpliceAI checkpoints map
to ``OpenSpliceAI``)."""

DELTA_COLUMNS = ("ds_ag", "ds_al", "ds_dg", "ds_dl", "dp_ag", "dp_al", "dp_dg", "dp_dl", "ds_max")
PANGOLIN_COLUMNS = ("gain", "gain_pos", "loss", "loss_pos", "warnings")
LM_COLUMNS = ("kl_context", "delta_logp")
FIRST_COLUMNS = ("variant", "model", "allele", "gene")
LAST_COLUMNS = ("skip",)


def parse_variant(text: str) -> Variant:
    """One variant text → :class:`~rnatools.scoring.variants.Variant` (alleles upper case).

    Raises:
        UsageError: the text (quoted in the message) is none of :data:`VARIANT_FORMS`, or POS
            is 0.
    """
    stripped = text.strip()
    for form in _FORMS:
        match = form.match(stripped)
        if match is not None:
            pos1 = int(match["pos"])
            if pos1 < 1:
                break
            alts = tuple(alt.upper() for alt in match["alt"].split(","))
            return Variant(match["chrom"], pos1, match["ref"].upper(), alts)
    raise UsageError(f"variant {text!r}: expected {VARIANT_FORMS}")


def parse_variants(texts: Iterable[str]) -> list[Variant]:
    """Variant texts → variants; ``chr:pos`` followed by ``ref>alt`` (two shell words) is one.

    Raises:
        UsageError: a text that is no variant; no variant at all.
    """
    words = [text for text in texts if text.strip()]
    variants: list[Variant] = []
    index = 0
    while index < len(words):
        word = words[index].strip()
        if (
            _POSITION_ONLY.match(word)
            and index + 1 < len(words)
            and _CHANGE_ONLY.match(words[index + 1].strip())
        ):
            word = f"{word} {words[index + 1].strip()}"
            index += 1
        variants.append(parse_variant(word))
        index += 1
    if not variants:
        raise UsageError(f"no variant given; expected {VARIANT_FORMS}")
    return variants


def read_variant_lines(lines: Iterable[str]) -> list[str]:
    """Variant texts from lines (``-`` = standard input): one per line; blank lines and lines
    starting with ``#`` are skipped."""
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def variant_text(variant: Variant) -> str:
    """``chr:pos:ref:alt`` (ALTs joined by commas)."""
    return f"{variant.chrom}:{variant.pos1}:{variant.ref}:{','.join(variant.alts or ('.',))}"


def info_key(model: str) -> str:
    """The INFO key ``model`` writes (annotate's own table when it has one)."""
    from rnatools.pipelines import annotate

    keys = getattr(annotate, "INFO_KEYS", None) or {}
    if model in keys:
        return keys[model]
    if model.startswith("openspliceai"):
        return "OpenSpliceAI"
    return DEFAULT_INFO_KEYS.get(model, model)


def skip_model(reason: str, models: Sequence[str]) -> str:
    """The model of a prefixed skip reason (``lm_`` SpliceBERT, ``pangolin_``,
    ``openspliceai_``; unprefixed: SpliceAI)."""
    prefixes = [("lm_", "splicebert"), ("pangolin_", "pangolin"), ("openspliceai_", "openspliceai")]
    for prefix, family in prefixes:
        if reason.startswith(prefix):
            return next((m for m in models if m.startswith(family)), family)
    return "spliceai"


@dataclass(frozen=True, kw_only=True)
class ScoreSettings:
    """One ``rnatools score`` run.

    Attributes:
        variants: the variants (see :func:`parse_variants`).
        fasta: reference FASTA.
        annotation: ``grch37``/``grch38``, a SpliceAI annotation table, or a GTF/GFF3.
        models: models to run (annotate's ``models``).
        max_distance: ``D`` (nt): scores cover POS ± D.
        mask: SpliceAI's ``-M 1``.
        device, precision, threads, batch_size, weights, lm_weights: as annotate's.

    Raises:
        UsageError: no variant; the rest as :class:`~rnatools.pipelines.annotate.AnnotateSettings`.
    """

    variants: tuple[Variant, ...]
    fasta: str | Path
    annotation: str | Path
    models: tuple[str, ...] = ("spliceai",)
    max_distance: int = 50
    mask: bool = False
    device: str = "auto"
    precision: str = "fp32"
    threads: int = 0
    batch_size: int = 32
    weights: str | Path | None = None
    lm_weights: str | Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "variants", tuple(self.variants))
        object.__setattr__(self, "models", tuple(self.models))
        if not self.variants:
            raise UsageError(f"no variant given; expected {VARIANT_FORMS}")


@dataclass(frozen=True)
class ScoreResult:
    """Rows (dicts keyed by :attr:`columns`; ``.`` where a column does not apply), one per
    variant × model × allele × gene (or transcript), in input order, and annotate's summary."""

    columns: tuple[str, ...]
    rows: list[dict[str, str]]
    summary: object = None
    skipped: dict[str, int] = field(default_factory=dict)


def columns_for(models: Sequence[str]) -> tuple[str, ...]:
    """The table's columns for ``models`` (those of each model family asked, in a fixed order)."""
    columns = list(FIRST_COLUMNS)
    if any(m not in ("pangolin", "splicebert") for m in models):
        columns += DELTA_COLUMNS
    if "pangolin" in models:
        columns += PANGOLIN_COLUMNS
    if "splicebert" in models:
        columns += LM_COLUMNS
    return tuple(columns + list(LAST_COLUMNS))


def _number(value: float | None, digits: int = 2) -> str:
    return "." if value is None else format(value, f".{digits}f")


def entry_rows(
    variant: str,
    model: str,
    key: str,
    value: Sequence[str],
    alts: Sequence[str] | None = None,
) -> list[dict[str, str]]:
    """Table rows of one INFO value of ``key`` (written by ``model``); ``alts``, the record's
    ALT alleles, names the allele of Pangolin entries that do not.

    Raises:
        InputError: an entry annotate would not write (it cannot be parsed).
    """
    from rnatools.scoring.entries import DeltaEntry, PangolinEntry, parse_entries

    rows: list[dict[str, str]] = []
    if key == "SpliceBERT":
        for text in value:
            fields = text.split("|")
            if len(fields) != 4:
                raise InputError(f"unexpected {key} entry {text!r}")
            rows.append(
                {
                    "variant": variant,
                    "model": model,
                    "allele": fields[0],
                    "gene": fields[1],
                    "kl_context": fields[2],
                    "delta_logp": fields[3],
                }
            )
        return rows
    try:
        entries = parse_entries(key, list(value), alts=alts if key.startswith("Pangolin") else None)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    for entry in entries:
        row = {
            "variant": variant,
            "model": model,
            "allele": entry.allele or ".",
            "gene": entry.gene,
        }
        if isinstance(entry, DeltaEntry):
            if entry.transcript:
                row["gene"] = f"{entry.gene}/{entry.transcript}"
            for name, score in zip(DELTA_COLUMNS[:4], entry.scores, strict=True):
                row[name] = _number(score)
            for name, position in zip(DELTA_COLUMNS[4:8], entry.positions, strict=True):
                row[name] = "." if position is None else str(position)
            row["ds_max"] = _number(entry.max_score)
        elif isinstance(entry, PangolinEntry):
            row.update(
                gain=_number(entry.gain),
                gain_pos=str(entry.gain_position),
                loss=_number(entry.loss),
                loss_pos=str(entry.loss_position),
                warnings=entry.warnings or ".",
            )
        rows.append(row)
    return rows


def _contig_lines(fasta_path: str | Path, variants: Sequence[Variant]) -> tuple[list[str], dict]:
    from rnatools.io.fasta import Fasta

    with Fasta(fasta_path) as fasta:
        lengths = dict(fasta.lengths)
        resolved = {}
        for variant in variants:
            resolved[variant.chrom] = (
                fasta.resolve(variant.chrom) if fasta.has(variant.chrom) else None
            )
    order = {name: index for index, name in enumerate(lengths)}
    lines = [f"##contig=<ID={name},length={length}>" for name, length in lengths.items()]
    extra = sorted({v.chrom for v in variants if v.chrom not in lengths})
    lines += [f"##contig=<ID={name}>" for name in extra]
    rank = {}
    for chrom in {v.chrom for v in variants}:
        name = resolved.get(chrom)
        rank[chrom] = order.get(name, len(order)) if name is not None else len(order)
    return lines, rank


def write_vcf(path: Path, variants: Sequence[Variant], fasta: str | Path) -> None:
    """A sorted VCF of ``variants``; record IDs are the input indices (``v0``, ``v1``, ...)."""
    contigs, rank = _contig_lines(fasta, variants)
    order = sorted(
        range(len(variants)),
        key=lambda i: (rank[variants[i].chrom], variants[i].chrom, variants[i].pos1, i),
    )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("##fileformat=VCFv4.2\n")
        handle.write("".join(line + "\n" for line in contigs))
        handle.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for i in order:
            v = variants[i]
            handle.write(
                f"{v.chrom}\t{v.pos1}\tv{i}\t{v.ref}\t{','.join(v.alts or ('.',))}\t.\t.\t.\n"
            )


def run_score(settings: ScoreSettings, progress: ProgressFactory = no_progress) -> ScoreResult:
    """Score ``settings.variants`` through annotate (module docstring).

    Raises:
        UsageError, InputError, MissingWeightsError: as
            :func:`rnatools.pipelines.annotate.run_annotate`.
    """
    import pysam

    from rnatools.pipelines.annotate import AnnotateSettings, run_annotate

    variants = list(settings.variants)
    models = settings.models
    keys = [info_key(model) for model in models]
    with tempfile.TemporaryDirectory(prefix="rnatools-score-") as folder:
        work = Path(folder)
        write_vcf(work / "variants.vcf", variants, settings.fasta)
        annotate_settings = AnnotateSettings(
            input=work / "variants.vcf",
            output=work / "scored.vcf",
            fasta=settings.fasta,
            annotation=settings.annotation,
            max_distance=settings.max_distance,
            mask=settings.mask,
            skip_report=work / "skips.tsv",
            device=settings.device,
            precision=settings.precision,
            threads=settings.threads,
            batch_size=settings.batch_size,
            weights=settings.weights,
            lm_weights=settings.lm_weights,
            models=models,
        )
        summary = run_annotate(annotate_settings, progress=progress)
        values: dict[int, dict[str, tuple[str, ...]]] = {}
        with pysam.VariantFile(str(work / "scored.vcf")) as vcf:
            for record in vcf:
                index = int(str(record.id)[1:])
                values[index] = {key: tuple(record.info[key]) for key in keys if key in record.info}
        skips: dict[int, list[str]] = {}
        with open(work / "skips.tsv", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("#"):
                    continue
                fields = line.rstrip("\n").split("\t")
                if len(fields) >= 6 and fields[2].startswith("v"):
                    skips.setdefault(int(fields[2][1:]), []).append(fields[5])
    columns = columns_for(models)
    rows: list[dict[str, str]] = []
    for index, variant in enumerate(variants):
        text = variant_text(variant)
        reasons = skips.get(index, [])
        for model, key in zip(models, keys, strict=True):
            value = values.get(index, {}).get(key)
            if value:
                rows.extend(entry_rows(text, model, key, value, variant.alts))
            for reason in reasons:
                if skip_model(reason, models) == model:
                    rows.append({"variant": text, "model": model, "skip": reason})
    for row in rows:
        for column in columns:
            row.setdefault(column, ".")
    return ScoreResult(columns, rows, summary, dict(getattr(summary, "skipped", {}) or {}))


def format_tsv(result: ScoreResult) -> str:
    """The rows as TSV with a header line (``#`` first)."""
    lines = ["#" + "\t".join(result.columns)]
    lines += ["\t".join(row[column] for column in result.columns) for row in result.rows]
    return "\n".join(lines) + "\n"


__all__ = [
    "VARIANT_FORMS",
    "ScoreResult",
    "ScoreSettings",
    "columns_for",
    "entry_rows",
    "format_tsv",
    "parse_variant",
    "parse_variants",
    "read_variant_lines",
    "run_score",
    "variant_text",
    "write_vcf",
]

"""Export the scores of an annotated VCF for other tools: VEP's SpliceAI plugin, Exomiser, tables.

``rnatools export`` reads the INFO entries of one key (``SpliceAI`` by default; parsed by
:mod:`rnatools.scoring.entries`) from a VCF written by ``rnatools annotate`` (or by SpliceAI
itself) and writes them in one of three forms:

* ``vep``: a bgzipped, tabix-indexed VCF that the Ensembl VEP SpliceAI plugin
  (``--plugin SpliceAI,snv=FILE,indel=FILE``) reads as precomputed scores. The plugin splits each
  line on tabs, removes ``SpliceAI=`` from the 8th column, splits the rest on ``|`` (allele,
  symbol, then the scores), matches the line's single ALT column to the variant and keeps the
  entry whose SYMBOL equals VEP's gene symbol; so every line holds one ALT, one gene and an INFO
  column of exactly ``SpliceAI=ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL``
  (comma-joined entries would be read as one). Entries without scores (``.``) are left out.
  With ``split``, single-base substitutions go to ``OUT.snv.vcf.gz`` and every other record to
  ``OUT.indel.vcf.gz``, the two files of the plugin's ``snv=``/``indel=`` parameters.
* ``exomiser``: ``#CHR POS REF ALT SCORE`` (tab-separated), one line per record and ALT, SCORE =
  the largest delta score of that ALT over its genes (and transcripts); Pangolin: the largest
  ``|gain|`` or ``|loss|``. This is the file of Exomiser's "TEST" pathogenicity source
  (``TestPathogenicityScoreDao``, Exomiser >= 12.0.0): CHR written as ``1``-``22``, ``X``,
  ``Y``, ``M`` (a ``chr`` prefix is dropped, ``MT`` becomes ``M``), POS 1-based, one ALT per
  line, SCORE in [0, 1] with 1 = pathogenic; a ``.gz`` output is bgzipped and tabix-indexed
  (``tabix -s1 -b2 -e2 -c#``), the form Exomiser reads. ALTs without any score are left out.
* ``tsv``: one row per record × allele × gene (× transcript), named columns, ``.`` values as
  empty cells, for spreadsheets and pandas.

Records without the key are counted and left out; a malformed entry is an :class:`InputError`
naming the file, the line and the entry. The indexed outputs (``vep``, ``exomiser`` to ``.gz``)
need the input sorted by position (checked record by record). Every output is written
atomically (``rnatools.io.atomic``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import pysam

from rnatools.errors import InputError, UsageError
from rnatools.io.atomic import (
    atomic_output,
    is_disk_error,
    output_error,
    output_errors,
    remove_quietly,
    set_default_permissions,
    temporary_beside,
)
from rnatools.io.vcf import (
    SPLICEAI_INFO_HEADER,
    BgzfLineWriter,
    MalformedRecord,
    iter_numbered,
    open_vcf,
    publish_vcf,
)
from rnatools.scoring.entries import DeltaEntry, Entry, entry_kind, parse_entries

ExportFormat = Literal["vep", "exomiser", "tsv"]
FORMATS: tuple[str, ...] = ("vep", "exomiser", "tsv")

DELTA_COLUMNS = (
    "chrom pos id ref alt gene transcript ds_ag ds_al ds_dg ds_dl dp_ag dp_al dp_dg dp_dl max"
).split()
"""TSV columns of a SpliceAI-format key (``*_TX`` keys add ``priority`` after ``transcript``)."""
PANGOLIN_COLUMNS = "chrom pos id ref alt gene gain_position gain loss_position loss max".split()
"""TSV columns of a Pangolin key (``Pangolin_TX`` adds ``transcript priority`` after ``gene``)."""
EXOMISER_HEADER = "#CHR\tPOS\tREF\tALT\tSCORE"
_VCF_SUFFIX = ".vcf.gz"


@dataclass(frozen=True)
class ExportSettings:
    """What ``rnatools export`` does.

    Attributes:
        input: the annotated VCF/BCF (plain, bgzip or gzip; ``-`` = standard input).
        output: ``vep``: ``OUT.vcf.gz`` (or, with ``split``, the prefix ``OUT``);
            ``exomiser``: ``.tsv`` (plain) or ``.tsv.gz`` (bgzip + tabix) or ``-``;
            ``tsv``: ``.tsv``, ``.tsv.gz`` (gzip) or ``-``.
        to: ``vep``, ``exomiser`` or ``tsv``.
        key: the INFO key whose entries are exported (``SpliceAI``, ``OpenSpliceAI``,
            ``SpliceAI_TX``, ``Pangolin``, ...).
        split: ``vep`` only: two files, ``OUT.snv.vcf.gz`` and ``OUT.indel.vcf.gz``.
    """

    input: str
    output: str
    to: ExportFormat
    key: str = "SpliceAI"
    split: bool = False


@dataclass
class ExportSummary:
    """What an export did.

    Attributes:
        records: records read.
        exported: records with the key (their entries exported).
        without_key: records without the key, left out.
        unscored: entries (``vep``) or ALTs (``exomiser``) without any score, left out.
        rows: lines or rows written (all files together, headers not counted).
        outputs: the files written (indexes not listed).
        seconds: wall time.
    """

    records: int = 0
    exported: int = 0
    without_key: int = 0
    unscored: int = 0
    rows: int = 0
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0


def export_scores(settings: ExportSettings) -> ExportSummary:
    """Run one export (see the module docstring).

    Raises:
        UsageError: an unknown format, a key the format cannot take (``vep`` takes only
            SpliceAI-format gene keys; raw-score keys are not exported), ``split`` without
            ``vep``, an output name the format cannot have; the input declares no such key.
        InputError: a malformed record or entry (file, line, entry), an entry whose allele is
            not an ALT of its record, an unsorted input for an indexed output.
        OutputError: an output cannot be written.
    """
    started = time.perf_counter()
    kind = _check_settings(settings)
    summary = ExportSummary()
    with contextlib.closing(open_vcf(settings.input)) as vcf:
        if settings.key not in vcf.header.info:
            declared = ", ".join(vcf.header.info) or "none"
            raise UsageError(
                f"{settings.input} declares no INFO key {settings.key} (INFO keys there: "
                f"{declared})",
                parameter="key",
            )
        records = _entries(vcf, settings, kind, summary)
        if settings.to == "vep":
            _write_vep(vcf.header, records, settings, summary)
        elif settings.to == "exomiser":
            _write_exomiser(records, settings, summary)
        else:
            _write_tsv(records, settings, kind, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def summary_line(summary: ExportSummary, settings: ExportSettings) -> str:
    """The final line of ``rnatools export`` (records, rows, what was left out, time)."""
    noun = {"vep": "lines", "exomiser": "lines", "tsv": "rows"}[settings.to]
    text = (
        f"rnatools export --to {settings.to}: {summary.records} records, {summary.rows} {noun} "
        f"in {summary.seconds:.1f} s"
    )
    left_out = []
    if summary.without_key:
        left_out.append(f"{summary.without_key} records without {settings.key}")
    if summary.unscored:
        what = "entries" if settings.to == "vep" else "ALTs"
        left_out.append(f"{summary.unscored} {what} without scores ('.')")
    if left_out:
        text += "; left out: " + ", ".join(left_out)
    return text


def exomiser_contig(chrom: str) -> str:
    """Exomiser's contig name: ``chr`` dropped, ``MT`` -> ``M`` (``chr17`` -> ``17``)."""
    name = chrom[3:] if chrom.lower().startswith("chr") else chrom
    return "M" if name in ("MT", "mt", "m") else name


def vep_output_paths(output: str, split: bool) -> list[str]:
    """The files of a ``vep`` export: ``[OUT]``, or with ``split`` ``[OUT.snv.vcf.gz,
    OUT.indel.vcf.gz]`` (a ``.vcf.gz`` ending of ``OUT`` is dropped first)."""
    if not split:
        return [output]
    prefix = output[: -len(_VCF_SUFFIX)] if output.endswith(_VCF_SUFFIX) else output
    return [f"{prefix}.snv{_VCF_SUFFIX}", f"{prefix}.indel{_VCF_SUFFIX}"]


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True, slots=True)
class _Record:
    chrom: str
    pos1: int
    id: str
    ref: str
    alts: tuple[str, ...]
    entries: list[Entry]
    texts: list[str]  # the entries as written (delta formats; one per entry)


def _check_settings(settings: ExportSettings) -> str:
    if settings.to not in FORMATS:
        raise UsageError(f"{settings.to!r}: choose vep, exomiser or tsv", parameter="to")
    kind = entry_kind(settings.key)
    if kind == "raw":
        raise UsageError(
            f"{settings.key} holds REF/ALT probabilities, not delta scores; export "
            f"{settings.key.removesuffix('_RAW')} instead",
            parameter="key",
        )
    if settings.split and settings.to != "vep":
        raise UsageError("splitting into SNV and indel files applies to vep exports only", "split")
    if settings.to == "vep":
        if kind != "delta":
            raise UsageError(
                f"the VEP SpliceAI plugin reads SpliceAI-format gene entries "
                f"(ALLELE|SYMBOL|DS_AG|...); {settings.key} is not one: use SpliceAI or "
                "OpenSpliceAI",
                parameter="key",
            )
        if settings.output == "-":
            raise UsageError(
                "a vep export is an indexed file, not standard output: name OUT.vcf.gz", "output"
            )
        if not settings.split and not settings.output.endswith(_VCF_SUFFIX):
            raise UsageError(
                f"{settings.output}: a vep export is a bgzipped VCF; name it .vcf.gz (or split it "
                "into SNV and indel files under a prefix)",
                parameter="output",
            )
    return kind


def _entries(vcf, settings: ExportSettings, kind: str, summary: ExportSummary) -> Iterator[_Record]:
    """Records with the key, in input order, with their entries checked."""
    check_order = settings.to == "vep" or (
        settings.to == "exomiser" and settings.output.endswith(".gz")
    )
    finished: set[str] = set()
    last: tuple[str, int] | None = None
    for line, record in iter_numbered(vcf, settings.input):
        if isinstance(record, MalformedRecord):
            raise record.error()
        summary.records += 1
        where = f"record {summary.records} ({record.chrom}:{record.pos})"
        if check_order:
            if last is not None and record.chrom != last[0]:
                finished.add(last[0])
            if record.chrom in finished or (
                last is not None and record.chrom == last[0] and record.pos < last[1]
            ):
                raise InputError(
                    f"{where}: records are not sorted by position, which a tabix-indexed "
                    f"output needs (after {last[0]}:{last[1]}); sort the input first "
                    "(bcftools sort) or export a tsv",
                    settings.input,
                    line,
                )
            last = (record.chrom, record.pos)
        value = record.info.get(settings.key) if settings.key in record.info else None
        alts = tuple(record.alts or ())
        texts = _texts(value)
        if not texts:
            summary.without_key += 1
            continue
        try:
            entries = parse_entries(settings.key, texts, alts=alts)
        except ValueError as exc:
            raise InputError(f"{where}: {exc}", settings.input, line) from None
        for entry in entries:
            if entry.allele is not None and entry.allele not in alts:
                raise InputError(
                    f"{where}: {settings.key} entry for allele {entry.allele!r}, which is not "
                    f"an ALT of the record ({','.join(alts) or '.'})",
                    settings.input,
                    line,
                )
        summary.exported += 1
        yield _Record(
            record.chrom,
            record.pos,
            record.id or "",
            record.ref or "",
            alts,
            entries,
            [text for text in texts if text != "."] if kind in ("delta", "delta_tx") else [],
        )


def _texts(value) -> list[str]:
    """The ``,``-separated parts of an INFO value (pysam's tuple or text); ``[]`` if missing."""
    if value is None:
        return []
    items = (value,) if isinstance(value, str) else value
    texts = [part for item in items for part in ("." if item is None else str(item)).split(",")]
    return [] if texts in ([], ["."], [""]) else texts


# ---------------------------------------------------------------------------------------------
# vep


def _vep_header(header: pysam.VariantHeader, settings: ExportSettings) -> str:
    lines = ["##fileformat=VCFv4.2"]
    if settings.key == "SpliceAI":
        lines.append(SPLICEAI_INFO_HEADER)
    else:
        lines.append(
            '##INFO=<ID=SpliceAI,Number=.,Type=String,Description="The '
            f"{settings.key} entries of the input, under SpliceAI's key for the VEP SpliceAI "
            'plugin. Format: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL">'
        )
    lines.extend(str(contig.header_record).rstrip("\n") for contig in header.contigs.values())
    lines.append(
        f"##source=rnatools export --to vep --key {settings.key} (one ALT and one gene per line)"
    )
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    return "\n".join(lines) + "\n"


def _write_vep(
    header: pysam.VariantHeader,
    records: Iterator[_Record],
    settings: ExportSettings,
    summary: ExportSummary,
) -> None:
    paths = vep_output_paths(settings.output, settings.split)
    temporaries: list[str] = []
    writers: list[BgzfLineWriter] = []
    try:
        for path in paths:
            temporaries.append(temporary_beside(path, ".tmp.vcf.gz"))
            with output_errors(path):
                writers.append(BgzfLineWriter(temporaries[-1]))
                writers[-1].write_header(_vep_header(header, settings).encode())
        for record in records:
            for entry, text in zip(record.entries, record.texts, strict=True):
                if entry.max_score is None:
                    summary.unscored += 1
                    continue
                snv = len(record.ref) == 1 and len(entry.allele) == 1  # type: ignore[arg-type]
                target = 0 if snv or not settings.split else 1
                line = (
                    f"{record.chrom}\t{record.pos1}\t{record.id or '.'}\t{record.ref}\t"
                    f"{entry.allele}\t.\t.\tSpliceAI={text}\n"
                )
                with output_errors(paths[target]):
                    writers[target].write_line(line.encode("utf-8", "surrogateescape"))
                summary.rows += 1
        for path, writer in zip(paths, writers, strict=True):
            with output_errors(path):
                writer.close()
        writers = []
        for temporary, path in zip(temporaries, paths, strict=True):
            publish_vcf(temporary, path, "tbi")
            summary.outputs.append(path)
    finally:
        for writer in writers:
            with contextlib.suppress(Exception):
                writer.close()
        remove_quietly(*temporaries, *(f"{t}.tbi" for t in temporaries))


# ---------------------------------------------------------------------------------------------
# exomiser


def _exomiser_lines(records: Iterator[_Record], summary: ExportSummary) -> Iterator[str]:
    for record in records:
        best: dict[str, float | None] = {}  # ALT -> its largest score, in entry order
        for entry in record.entries:
            allele = entry.allele if entry.allele is not None else ",".join(record.alts)
            scores = [s for s in (best.get(allele), entry.max_score) if s is not None]
            best[allele] = max(scores) if scores else None
        summary.unscored += sum(1 for alt in record.alts if best.get(alt) is None)
        for allele, score in best.items():
            if score is None:
                continue
            summary.rows += 1
            yield (
                f"{exomiser_contig(record.chrom)}\t{record.pos1}\t{record.ref}\t{allele}\t"
                f"{_number(score)}\n"
            )


def _write_exomiser(
    records: Iterator[_Record], settings: ExportSettings, summary: ExportSummary
) -> None:
    lines = _exomiser_lines(records, summary)
    if not settings.output.endswith(".gz"):
        with atomic_output(settings.output) as handle:
            handle.write(EXOMISER_HEADER + "\n")
            handle.writelines(lines)
        summary.outputs.append(settings.output)
        return
    _write_tabix_table(settings.output, EXOMISER_HEADER, lines)
    summary.outputs.append(settings.output)


def _write_tabix_table(path: str, header: str, lines: Iterator[str]) -> None:
    """A bgzipped table indexed like ``tabix -s1 -b2 -e2 -c#``, written atomically."""
    temporary = temporary_beside(path, ".tmp.tsv.gz")
    temporary_index = f"{temporary}.tbi"
    writer: BgzfLineWriter | None = None
    try:
        with output_errors(path):
            writer = BgzfLineWriter(temporary)
            writer.write_header((header + "\n").encode())
        for line in lines:
            with output_errors(path):
                writer.write_line(line.encode("utf-8", "surrogateescape"))
        with output_errors(path):
            writer.close()
            writer = None
            set_default_permissions(temporary)
        try:
            pysam.tabix_index(
                temporary,
                seq_col=0,
                start_col=1,
                end_col=1,
                meta_char="#",
                force=True,
                keep_original=True,
                index=temporary_index,
            )
        except OSError as exc:
            if is_disk_error(exc):
                raise output_error(f"{path}.tbi", exc) from exc
            raise
        with output_errors(f"{path}.tbi"):
            os.replace(temporary_index, f"{path}.tbi")
        with output_errors(path):
            os.replace(temporary, path)
    finally:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        remove_quietly(temporary, temporary_index)


# ---------------------------------------------------------------------------------------------
# tsv


def tsv_columns(key: str) -> list[str]:
    """The TSV header of an export of ``key``."""
    kind = entry_kind(key)
    if kind == "pangolin":
        if key.endswith("_TX"):
            return PANGOLIN_COLUMNS[:6] + ["transcript", "priority"] + PANGOLIN_COLUMNS[6:]
        return list(PANGOLIN_COLUMNS)
    if kind == "delta_tx":
        return DELTA_COLUMNS[:7] + ["priority"] + DELTA_COLUMNS[7:]
    return list(DELTA_COLUMNS)


def _tsv_rows(records: Iterator[_Record], key: str, summary: ExportSummary) -> Iterator[str]:
    transcripts = key.endswith("_TX")
    for record in records:
        single_alt = record.alts[0] if len(record.alts) == 1 else ""
        leading = [record.chrom, str(record.pos1), record.id, record.ref]
        for entry in record.entries:
            cells = leading + [entry.allele if entry.allele is not None else single_alt]
            if isinstance(entry, DeltaEntry):
                cells += [entry.gene, entry.transcript or ""]
                if transcripts:
                    cells.append(entry.priority or "")
                cells += [_number(value) for value in entry.scores]
                cells += ["" if value is None else str(value) for value in entry.positions]
            else:
                cells.append(entry.gene)
                if transcripts:
                    cells += [entry.transcript or "", entry.priority or ""]
                cells += [
                    str(entry.gain_position),
                    _number(entry.gain),
                    str(entry.loss_position),
                    _number(entry.loss),
                ]
            cells.append(_number(entry.max_score))
            summary.rows += 1
            yield "\t".join(cells) + "\n"


def _write_tsv(
    records: Iterator[_Record], settings: ExportSettings, kind: str, summary: ExportSummary
) -> None:
    with atomic_output(settings.output) as handle:
        handle.write("\t".join(tsv_columns(settings.key)) + "\n")
        handle.writelines(_tsv_rows(records, settings.key, summary))
    summary.outputs.append(settings.output)


def _number(value: float | None) -> str:
    """A score as text: empty for None, else the shortest text of the float (``0.95``)."""
    if value is None:
        return ""
    return repr(float(value))


__all__ = [
    "DELTA_COLUMNS",
    "EXOMISER_HEADER",
    "FORMATS",
    "PANGOLIN_COLUMNS",
    "ExportFormat",
    "ExportSettings",
    "ExportSummary",
    "exomiser_contig",
    "export_scores",
    "summary_line",
    "tsv_columns",
    "vep_output_paths",
]

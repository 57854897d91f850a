"""Look up precomputed scores before computing them (``annotate --precomputed``).

A precomputed file is a bgzipped VCF with a tabix (``.tbi``) or CSI (``.csi``) index whose INFO
key (``SpliceAI``, ``OpenSpliceAI``, ``SpliceAI_TX``, ``Pangolin``, ...) holds entries in the
format rnatools writes: an rnatools output, or a published file such as Illumina's
``spliceai_scores.masked.snv.hg38.vcf.gz`` (``docs/precomputed-scores.md`` lists which published
files carry which settings).

Settings. rnatools writes one header line per INFO key into every annotated output::

    ##rnatools_settings=<key=SpliceAI,model=spliceai,distance=50,mask=0,annotation=grch38,
    annotation_md5=...,transcripts=gene,version=0.1.0>

(on one line). A file with such a line for the run's key is used only when its settings equal
the run's on :data:`COMPARED_SETTINGS`; a file without any such line (a published file) is used
only when the user states its settings (``distance=50,mask=1``, :func:`parse_stated_settings`)
and they equal the run's.

Matching. A record of the run is a *hit* when, for every ALT that a scorer would score (not
symbolic, not an IUPAC code; for Pangolin every ALT) and every gene the run's annotation scores
at POS, some file has a record with the same CHROM (``chr`` prefix and ``M``/``MT`` matched as
in :func:`rnatools.genome.match_contig`), POS, REF and that ALT whose INFO value holds an entry
of that gene. The entries are returned in the run's order (ALT-major, then annotation gene order);
entries of genes the run does not score are dropped. Anything less is a *miss* (None) and goes to
the model. Files with several ALTs per line and files with one ALT per line (Illumina's) both
work; entries are assigned to ALTs by their allele field.

Streaming. Records are looked up in input order (sorted, or mostly so). Each file is read by
region once per *window*: from the looked-up position onwards, a bounded number of lines (256 at
first, doubled while lookups keep walking forward, at most 16,384), kept by position and parsed
(into a dictionary keyed by POS, REF, ALT) only where a record is looked up. A lookup a few
thousand lines ahead goes on reading the open iterator instead of seeking again (a tabix seek
re-reads up to a 16 kb bin). Memory is bounded by the window. :class:`LookupFirst` puts the
lookup in front of a scorer for ``annotate``: hits are copied, only misses are computed.

Coordinates: VCF ``POS`` is 1-based (``pos1``) throughout this module, as in the files.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import pysam

from rnatools.errors import InputError, UsageError
from rnatools.genome import ContigMap
from rnatools.io.gene_table import BUILTIN_TABLES, GeneTable, builtin_table_path
from rnatools.scoring.entries import entry_kind, parse_entries
from rnatools.scoring.variants import (
    Variant,
    is_ambiguous_allele,
    is_scorable_allele,
    prepare_then_run,
)

SETTINGS_HEADER_KEY = "rnatools_settings"
"""Name of the structured header line: ``##rnatools_settings=<key=...,...>``."""

SETTINGS_ORDER = (
    "model",
    "distance",
    "mask",
    "annotation",
    "annotation_md5",
    "transcripts",
    "version",
)
"""The settings rnatools writes, in the order written (after ``key``)."""

COMPARED_SETTINGS = ("model", "distance", "mask", "annotation_md5", "transcripts")
"""Settings that must be equal for a precomputed entry to stand for a computed one. ``version``
and the annotation's *name* are informational (the checksum decides)."""

STATED_KEYS = ("distance", "mask", "annotation", "model", "transcripts")
"""What ``--precomputed-settings`` may state for a file without rnatools settings."""

REQUIRED_STATED = ("distance", "mask")

STATED_EXAMPLE = "distance=50,mask=0"
"""The example shown in messages asking for stated settings."""

_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_.:/+@-]*$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")
_FIRST_LINES = 256
_MAX_LINES = 16_384
_SKIP = 4_000  # lines worth skipping instead of a new tabix seek
_END = 1 << 62


# ---------------------------------------------------------------------------------------------
# Settings header lines


def annotation_checksum(spec: str | os.PathLike[str]) -> str:
    """MD5 (hex) of the annotation a run uses: the bytes of the file, as they are on disk.

    Args:
        spec: ``grch37``/``grch38`` (the table packaged with the installed ``spliceai``, found
            with :func:`rnatools.io.gene_table.builtin_table_path`) or the path of a table,
            GTF or GFF3 (gzipped or not; a gzipped and a plain copy differ).

    Raises:
        MissingWeightsError: a built-in name without the ``spliceai`` package.
        InputError: the file cannot be read.
    """
    text = str(spec)
    path = builtin_table_path(text.lower()) if text.lower() in BUILTIN_TABLES else Path(text)
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"cannot read the annotation ({exc.strerror or exc})", path) from exc
    return digest.hexdigest()


def annotation_name(spec: str | os.PathLike[str]) -> str:
    """``grch37``/``grch38`` for the built-in tables, else the file name (no folders)."""
    text = str(spec)
    return text.lower() if text.lower() in BUILTIN_TABLES else Path(text).name


def run_settings(
    *,
    model: str,
    distance: int,
    mask: bool,
    annotation: str | os.PathLike[str],
    transcripts: str = "gene",
    annotation_md5: str | None = None,
) -> dict[str, str]:
    """The settings of a run, as written into the header and compared with precomputed files.

    Args:
        model: registry name of the model (``spliceai``, ``openspliceai-mane``, ``pangolin``).
        distance: ``-D`` in nt.
        mask: SpliceAI's ``-M 1``.
        annotation: ``grch37``/``grch38`` or the path given with ``-a``.
        transcripts: ``gene`` (one entry per gene) or the transcript mode of the run.
        annotation_md5: :func:`annotation_checksum` of ``annotation`` when the caller has it
            already (a run with several keys reads the file once); None = compute it.

    Raises:
        MissingWeightsError, InputError: as :func:`annotation_checksum`.
    """
    from rnatools import __version__

    return {
        "model": model,
        "distance": str(int(distance)),
        "mask": "1" if mask else "0",
        "annotation": annotation_name(annotation),
        "annotation_md5": annotation_md5 or annotation_checksum(annotation),
        "transcripts": transcripts,
        "version": __version__,
    }


def _quote(value: str) -> str:
    if _PLAIN_VALUE.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def settings_header_line(key: str, settings: Mapping[str, str]) -> str:
    """``##rnatools_settings=<key=KEY,model=...,...>`` (no newline) for INFO key ``key``.

    Settings of :data:`SETTINGS_ORDER` come first, in that order, then any others sorted by name.
    A value with characters other than letters, digits and ``_ . : / + @ -`` is written in
    double quotes with ``\\`` and ``"`` escaped by a backslash (VCF 4.3, section 1.4); a newline
    is refused.

    Raises:
        ValueError: a name that is not a plain word, or a newline in a value.
    """
    names = [name for name in SETTINGS_ORDER if name in settings]
    names += sorted(name for name in settings if name not in SETTINGS_ORDER and name != "key")
    parts = [f"key={_quote(key)}"]
    for name in names:
        value = str(settings[name])
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise ValueError(f"setting name {name!r} is not a plain word")
        if "\n" in value or "\r" in value:
            raise ValueError(f"setting {name} holds a line break")
        parts.append(f"{name}={_quote(value)}")
    return f"##{SETTINGS_HEADER_KEY}=<{','.join(parts)}>"


def _parse_structured(body: str) -> dict[str, str]:
    """``a=1,b="x,\\"y\\""`` -> ``{"a": "1", "b": 'x,"y"'}``."""
    values: dict[str, str] = {}
    index, length = 0, len(body)
    while index < length:
        equals = body.find("=", index)
        if equals < 0:
            raise ValueError(f"expected name=value at {body[index:]!r}")
        name = body[index:equals].strip()
        index = equals + 1
        if index < length and body[index] == '"':
            index += 1
            chars: list[str] = []
            while index < length and body[index] != '"':
                if body[index] == "\\" and index + 1 < length:
                    index += 1
                chars.append(body[index])
                index += 1
            if index >= length:
                raise ValueError(f"unterminated quoted value of {name!r}")
            value = "".join(chars)
            index += 1  # closing quote
        else:
            comma = body.find(",", index)
            comma = length if comma < 0 else comma
            value = body[index:comma]
            index = comma
        values[name] = value
        if index < length:
            if body[index] != ",":
                raise ValueError(f"expected ',' after {name!r}")
            index += 1
    return values


def is_settings_line(line: str, key: str | None = None) -> bool:
    """Whether ``line`` is an ``##rnatools_settings`` line (of INFO key ``key`` when given);
    for dropping an input's stale line before writing the run's own."""
    prefix = f"##{SETTINGS_HEADER_KEY}=<"
    if not line.startswith(prefix):
        return False
    if key is None:
        return True
    try:
        return _parse_structured(line.rstrip("\r\n")[len(prefix) : -1]).get("key") == key
    except ValueError:
        return False


def set_settings_lines(
    header: pysam.VariantHeader, settings: Mapping[str, Mapping[str, str]]
) -> None:
    """Write the settings of the keys a run writes into an output header, in place.

    Lines of other keys already in ``header`` (an input annotated earlier with another model,
    whose entries stay in the records) are kept; a line of a key in ``settings`` is replaced.
    htslib removes structured lines by name only, so every ``##rnatools_settings`` line is
    removed and the kept ones are added back, after the new ones' keys in sorted order.

    Args:
        header: the output's header, before any record is written.
        settings: INFO key -> the run's settings (:func:`run_settings`).

    Raises:
        ValueError: as :func:`read_settings` for a malformed line already in ``header``.
    """
    kept = {key: values for key, values in read_settings(header).items() if key not in settings}
    while True:
        found = None
        for record in header.records:
            if record.type == "STRUCTURED" and record.key == SETTINGS_HEADER_KEY:
                found = record
                break
        if found is None:
            break
        found.remove()
    merged = {**kept, **settings}
    for key in sorted(merged):
        header.add_line(settings_header_line(key, merged[key]))


def _header_lines(header: Iterable[str] | pysam.VariantHeader) -> Iterable[str]:
    if isinstance(header, pysam.VariantHeader):
        return str(header).splitlines()
    return header


def read_settings(
    header: Iterable[str] | pysam.VariantHeader,
) -> dict[str, dict[str, str]]:
    """The ``##rnatools_settings`` lines of a VCF header: INFO key -> settings (without ``key``).

    Args:
        header: header lines (``pysam.TabixFile.header``, ``str(header).splitlines()``) or a
            ``pysam.VariantHeader``.

    Raises:
        ValueError: a malformed settings line, one without ``key``, or two lines for one key
            that disagree (a writer must replace the line of its key, see
            :func:`is_settings_line`).
    """
    prefix = f"##{SETTINGS_HEADER_KEY}="
    found: dict[str, dict[str, str]] = {}
    for raw in _header_lines(header):
        line = raw.rstrip("\r\n")
        if not line.startswith(prefix):
            if line.startswith("#CHROM"):
                break
            continue
        body = line[len(prefix) :]
        if not (body.startswith("<") and body.endswith(">")):
            raise ValueError(f"malformed settings line {line!r}: expected <key=...,...>")
        try:
            values = _parse_structured(body[1:-1])
        except ValueError as exc:
            raise ValueError(f"malformed settings line {line!r}: {exc}") from None
        key = values.pop("key", None)
        if not key:
            raise ValueError(f"settings line without key=: {line!r}")
        if key in found and found[key] != values:
            raise ValueError(f"two different settings lines for INFO key {key}")
        found[key] = values
    return found


def parse_stated_settings(text: str | None) -> dict[str, str] | None:
    """The settings a user states for files without rnatools settings (``distance=50,mask=1``).

    ``mask`` takes ``0``/``1`` (also ``raw``/``masked``, ``false``/``true``); ``distance`` an
    integer in nt; ``annotation`` ``grch37``, ``grch38``, a path or an MD5; ``model`` and
    ``transcripts`` a name. Returns None for None or an empty text.

    Raises:
        UsageError: (``precomputed_settings``) an item that is not ``name=value``, an unknown or
            repeated name, a value out of range; the message names the item.
    """
    if text is None or not text.strip():
        return None
    stated: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, equals, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not equals or not name or not value:
            raise UsageError(
                f"{item!r}: expected name=value (e.g. {STATED_EXAMPLE})",
                parameter="precomputed_settings",
            )
        if name not in STATED_KEYS:
            raise UsageError(
                f"{item!r}: unknown setting {name!r} (known: {', '.join(STATED_KEYS)})",
                parameter="precomputed_settings",
            )
        if name in stated:
            raise UsageError(f"{item!r}: {name} given twice", parameter="precomputed_settings")
        if name == "distance":
            if not value.isdigit():
                raise UsageError(
                    f"{item!r}: distance must be a whole number of nt",
                    parameter="precomputed_settings",
                )
            value = str(int(value))
        elif name == "mask":
            lowered = value.lower()
            if lowered in ("0", "raw", "false", "no"):
                value = "0"
            elif lowered in ("1", "masked", "true", "yes"):
                value = "1"
            else:
                raise UsageError(
                    f"{item!r}: mask must be 0 (raw) or 1 (masked)",
                    parameter="precomputed_settings",
                )
        stated[name] = value
    return stated or None


def _stated_mismatch(stated: Mapping[str, str], run: Mapping[str, str]) -> str | None:
    """The first stated setting that differs from the run's, as ``name: file X, run Y``."""
    for name in STATED_KEYS:
        if name not in stated:
            continue
        value = stated[name]
        if name == "annotation":
            checksum = _stated_annotation_md5(value)
            if checksum != run.get("annotation_md5"):
                return (
                    f"annotation: file {value}, run {run.get('annotation', '?')} "
                    "(different annotation files)"
                )
            continue
        if value != run.get(name):
            return f"{name}: file {value}, run {run.get(name, '(unset)')}"
    return None


def _stated_annotation_md5(value: str) -> str:
    if value.lower() in BUILTIN_TABLES or Path(value).is_file():
        return annotation_checksum(value)
    if _MD5.match(value.lower()):
        return value.lower()
    raise UsageError(
        f"annotation={value}: expected grch37, grch38, an existing file or an MD5",
        parameter="precomputed_settings",
    )


# ---------------------------------------------------------------------------------------------
# The lookup


def _index_path(path: str) -> str | None:
    for suffix in (".tbi", ".csi"):
        if os.path.isfile(path + suffix):
            return path + suffix
    return None


@dataclass
class _Window:
    """Records of one file with ``lo <= POS < hi`` on contig ``chrom`` (the file's spelling)."""

    chrom: str | None = None
    lo: int = 0
    hi: int = 0
    raw: dict[int, list[str]] = field(default_factory=dict)  # POS -> lines not parsed yet
    # parsed: (pos1, REF upper, ALT upper) -> gene -> entries (file order); for Pangolin,
    # "" -> gene tuple -> ALT group text (see _PrecomputedFile._add_groups)
    table: dict[tuple[int, str, str], dict] = field(default_factory=dict)
    density: float = 0.0  # lines per nt in the window (0 when read to the contig's end)


class _PrecomputedFile:
    """One indexed file: its contigs, its window and its hit count."""

    def __init__(self, path: str, key: str, kind: str):
        self.path = path
        self.key = key
        self.kind = kind
        index = _index_path(path)
        if index is None:
            raise UsageError(
                f"{path}: no .tbi or .csi index beside it (index it with tabix -p vcf {path})",
                parameter="precomputed",
            )
        try:
            self.tabix = pysam.TabixFile(path, index=index, encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot open as a bgzipped, indexed VCF ({exc}); compress it with bgzip and "
                f"index it with tabix -p vcf",
                path,
            ) from exc
        self.header = list(self.tabix.header)
        self.contigs = ContigMap(self.tabix.contigs, path)
        self.window = _Window()
        self.lines = _FIRST_LINES
        self._lines: Iterator[str] | None = None  # the open tabix iterator of the window
        self._pending: str | None = None  # its line read past the window's end
        self.hits = 0
        self._prefix = key + "="
        self._after = ";" + key + "="

    def close(self) -> None:
        self.tabix.close()

    def declares_key(self) -> bool:
        return any(line.startswith(f"##INFO=<ID={self.key},") for line in self.header)

    # -- reading ----------------------------------------------------------------------------
    def records_at(self, chrom: str, pos1: int) -> dict | None:
        """The window's table when it holds ``pos1`` of VCF contig ``chrom`` (read if needed);
        None when the file has no such contig."""
        name = self.contigs.get(chrom)
        if name is None:
            return None
        window = self.window
        if window.chrom != name or not window.lo <= pos1 < window.hi:
            self._read(name, pos1)
            window = self.window
        lines = window.raw.pop(pos1, None)
        if lines is not None:  # parsed when first asked for
            for line in lines:
                self._add(window.table, pos1, line)
        return window.table

    def _read(self, name: str, pos1: int) -> None:
        """Make the window hold ``pos1``: go on reading the open iterator when ``pos1`` lies a
        few thousand lines ahead (a tabix seek re-reads up to a 16 kb bin: ~3 ms in a file as
        dense as Illumina's), else fetch from ``pos1``; then read about ``self.lines`` lines."""
        old = self.window
        ahead = old.chrom == name and pos1 >= old.hi
        if ahead and pos1 < old.hi + 4 * max(old.hi - old.lo, 1):
            self.lines = min(self.lines * 2, _MAX_LINES)  # walking forward: read further
        else:
            self.lines = _FIRST_LINES
        if not (ahead and self._lines is not None and (pos1 - old.hi) * old.density <= _SKIP):
            self._lines = self.tabix.fetch(name, pos1 - 1)
            self._pending = None
        raw: dict[int, list[str]] = {}
        limit = self.lines
        count = 0
        last = -1
        at: list[str] = []
        hi = _END
        lines = self._lines
        pending, self._pending = self._pending, None
        try:
            if pending is not None:
                lines = itertools.chain((pending,), lines)
            for line in lines:
                tab = line.find("\t")
                pos = int(line[tab + 1 : line.find("\t", tab + 1)])
                if pos < pos1:
                    continue  # before the window (or a deletion starting before it)
                if count >= limit and pos != last:
                    hi = pos
                    self._pending = line
                    break
                count += 1
                if pos == last:
                    at.append(line)
                else:
                    at = raw[pos] = [line]
                    last = pos
            else:
                self._lines = None  # the contig is read to its end
        except ValueError as exc:  # malformed line or position
            raise InputError(f"cannot read a record near {name}:{pos1} ({exc})", self.path) from exc
        density = count / (hi - pos1) if hi != _END and hi > pos1 else 0.0
        self.window = _Window(name, pos1, hi, raw, {}, density)

    def _info_value(self, info: str) -> str | None:
        if info.startswith(self._prefix):
            start = len(self._prefix)
        else:
            found = info.find(self._after)
            if found < 0:
                return None
            start = found + len(self._after)
        end = info.find(";", start)
        return info[start:] if end < 0 else info[start:end]

    def _add(self, table: dict, pos: int, line: str) -> None:
        fields = line.split("\t", 8)
        value = self._info_value(fields[7])
        if not value or value == ".":
            return
        ref = fields[3].upper()
        alts = fields[4].upper().split(",")
        if self.kind == "pangolin":
            self._add_groups(table, pos, ref, alts, value)
            return
        for entry in value.split(","):
            bar = entry.find("|")
            if bar <= 0:
                continue
            allele = entry[:bar].upper()
            if allele not in alts:
                continue
            bar2 = entry.find("|", bar + 1)
            gene = entry[bar + 1 : bar2] if bar2 > 0 else entry[bar + 1 :]
            by_gene = table.get((pos, ref, allele))
            if by_gene is None:
                by_gene = table[(pos, ref, allele)] = {}
            entries = by_gene.get(gene)
            if entries is None:
                by_gene[gene] = [entry]
            elif self.kind == "delta_tx":
                entries.append(entry)  # one entry per transcript of the gene

    def _add_groups(self, table: dict, pos: int, ref: str, alts: list[str], value: str) -> None:
        """Pangolin: one ``,``-separated group per ALT, holding every gene of that ALT."""
        groups = value.split(",")
        for index, group in enumerate(groups):
            try:
                parsed = parse_entries(
                    self.key, group, alts=[alts[index]] if len(groups) == len(alts) else None
                )
            except ValueError:
                continue
            if not parsed or parsed[0].allele is None:
                continue
            allele = parsed[0].allele.upper()
            genes = tuple(entry.gene for entry in parsed)
            table.setdefault((pos, ref, allele), {}).setdefault("", {}).setdefault(genes, group)


class PrecomputedScores:
    """Entries of precomputed files for the records of a run, looked up in input order.

    Args:
        paths: bgzipped VCFs, each with a ``.tbi`` or ``.csi`` index beside it; earlier files
            win when several hold an entry.
        key: the INFO key read (and written by the run): ``SpliceAI``, ``OpenSpliceAI``,
            ``SpliceAI_TX``, ``Pangolin``, ...
        run_settings: the run's settings (:func:`run_settings`).
        stated: settings stated for files without rnatools settings
            (:func:`parse_stated_settings`), or None.
        genes: the run's annotation; only entries of the genes it scores at POS are used.
        targets: the gene labels the run's scorer writes for a record, in its order, when they
            are not the names of ``genes.overlapping(chrom, pos1)`` in annotation order (e.g.
            Pangolin writes gene ids, + strand genes first); ``[]`` = the scorer would skip it.

    Attributes:
        hits_by_file: path -> records for which that file gave at least one entry.
        hits: records whose every entry was found.
        misses: records looked up and not (fully) found.

    Raises:
        UsageError: (``precomputed``) a file without an index, without the INFO key, whose
            rnatools settings differ from the run's (the message names the first differing
            setting), or without rnatools settings when none are stated (the message shows
            ``--precomputed-settings``); (``precomputed_settings``) stated settings that differ
            from the run's.
        InputError: a file that is not a bgzipped VCF, or a malformed settings line.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        key: str,
        run_settings: Mapping[str, str],
        stated: Mapping[str, str] | None,
        genes: GeneTable,
        targets: Callable[[Variant], Sequence[str]] | None = None,
    ):
        self.key = key
        self.genes = genes
        self.targets = targets
        self.kind = entry_kind(key)
        if self.kind == "raw":
            raise UsageError(
                f"INFO key {key} holds raw scores, which are not looked up",
                parameter="precomputed",
            )
        self.run_settings = dict(run_settings)
        self.stated = dict(stated) if stated else None
        self.files: list[_PrecomputedFile] = []
        self.hits = 0
        self.misses = 0
        try:
            for path in paths:
                text = os.fspath(path)
                if not os.path.isfile(text):
                    raise InputError("precomputed file not found", text)
                handle = _PrecomputedFile(text, key, self.kind)
                self.files.append(handle)
                self._check(handle)
        except BaseException:
            self.close()
            raise
        self.hits_by_file: dict[str, int] = {handle.path: 0 for handle in self.files}

    # -- settings ---------------------------------------------------------------------------
    def _check(self, handle: _PrecomputedFile) -> None:
        try:
            settings = read_settings(handle.header)
        except ValueError as exc:
            raise InputError(str(exc), handle.path) from None
        path = handle.path
        if settings:
            own = settings.get(self.key)
            if own is None:
                raise UsageError(
                    f"{path}: an rnatools output without {self.key} scores (its settings "
                    f"lines are for {', '.join(sorted(settings))})",
                    parameter="precomputed",
                )
            for name in COMPARED_SETTINGS:
                if own.get(name) != self.run_settings.get(name):
                    raise UsageError(
                        f"{path}: computed with {name}={own.get(name, '(unset)')}, this run "
                        f"uses {name}={self.run_settings.get(name, '(unset)')}"
                        + (
                            f" (file annotation {own.get('annotation', '?')}, run "
                            f"{self.run_settings.get('annotation', '?')})"
                            if name == "annotation_md5"
                            else ""
                        ),
                        parameter="precomputed",
                    )
        else:
            if not self.stated:
                raise UsageError(
                    f"{path} does not record the settings it was computed with: state them "
                    f"with --precomputed-settings {STATED_EXAMPLE} (see "
                    f"docs/precomputed-scores.md for published files)",
                    parameter="precomputed",
                )
            missing = [name for name in REQUIRED_STATED if name not in self.stated]
            if missing:
                raise UsageError(
                    f"stated settings lack {', '.join(missing)} (e.g. {STATED_EXAMPLE})",
                    parameter="precomputed_settings",
                )
            mismatch = _stated_mismatch(self.stated, self.run_settings)
            if mismatch is not None:
                raise UsageError(
                    f"{path}: stated settings differ from this run's ({mismatch})",
                    parameter="precomputed_settings",
                )
        if not handle.declares_key():
            raise UsageError(
                f"{path}: the header declares no INFO key {self.key}",
                parameter="precomputed",
            )

    # -- lookup -----------------------------------------------------------------------------
    def lookup(self, variant: Variant) -> list[str] | None:
        """The record's entries in the run's order, or None (a miss: compute it).

        Args:
            variant: the record (``chrom`` as in the run's VCF, 1-based ``pos1``).

        Returns:
            Every entry the run would write for the record (ALT-major, then annotation gene
            order; per transcript for ``*_TX`` keys), with the ALT spelled as in ``variant``;
            None when any is missing from every file, when no ALT is scorable, or when no gene
            of the annotation contains POS.
        """
        found = self._find(variant)
        if found is None:
            self.misses += 1
            return None
        entries, used = found
        self.hits += 1
        for handle in used:
            self.hits_by_file[handle.path] += 1
        return entries

    def lookup_many(self, variants: Iterable[Variant]) -> list[list[str] | None]:
        """:meth:`lookup` of each variant, in order (e.g. one block of the run)."""
        return [self.lookup(variant) for variant in variants]

    def _find(self, variant: Variant) -> tuple[list[str], list[_PrecomputedFile]] | None:
        if not variant.alts:
            return None
        if self.targets is not None:
            names = list(self.targets(variant))
        else:
            names = [gene.name for gene in self.genes.overlapping(variant.chrom, variant.pos1)]
        if not names or len(set(names)) != len(names):
            return None  # intergenic, or two genes of one name: entries cannot be told apart
        pangolin = self.kind == "pangolin"
        if pangolin:
            alts = list(variant.alts)  # one group per ALT, '.' for an unscored one: computed
        else:
            alts = [alt for alt in variant.alts if is_scorable_allele(alt)]
            alts = [alt for alt in alts if not is_ambiguous_allele(alt)]
            if not alts:
                return None
        tables = []
        for handle in self.files:
            table = handle.records_at(variant.chrom, variant.pos1)
            if table:
                tables.append((handle, table))
        if not tables:
            return None
        ref = variant.ref.upper()
        entries: list[str] = []
        used: list[_PrecomputedFile] = []
        wanted = tuple(names)
        for alt in alts:
            key = (variant.pos1, ref, alt.upper())
            if pangolin:
                group = None
                for handle, table in tables:
                    group = table.get(key, {}).get("", {}).get(wanted)
                    if group is not None:
                        if handle not in used:
                            used.append(handle)
                        break
                if group is None:
                    return None
                entries.append(group)
                continue
            for name in names:
                found = None
                for handle, table in tables:
                    by_gene = table.get(key)
                    if by_gene is not None:
                        found = by_gene.get(name)
                        if found is not None:
                            if handle not in used:
                                used.append(handle)
                            break
                if found is None:
                    return None
                for entry in found:
                    if not entry.startswith(alt + "|"):
                        entry = alt + entry[entry.find("|") :]
                    entries.append(entry)
        return entries, used

    # -- summary ----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """``{"hits": ..., "misses": ..., PATH: hits of that file, ...}`` for summaries."""
        return {"hits": self.hits, "misses": self.misses, **self.hits_by_file}

    def close(self) -> None:
        """Close every file (also done by ``with``)."""
        for handle in self.files:
            handle.close()

    def __enter__(self) -> PrecomputedScores:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PrecomputedSkip(str, Enum):
    """Why a record got no entry in a lookup-only run (``--precomputed-only``)."""

    NOT_PRECOMPUTED = "not_precomputed"


@dataclass(slots=True)
class LookupOutcome:
    """The outcome of a record looked up (the annotate protocol: ``entries``, ``skip``)."""

    entries: list[str] = field(default_factory=list)
    skip: PrecomputedSkip | None = None


class LookupFirst:
    """A scorer for ``annotate``: precomputed entries first, ``scorer`` for the misses only.

    Implements the annotator protocol (``annotate(variants)`` -> one outcome per variant with
    ``.entries`` and ``.skip``). Hits become :class:`LookupOutcome` objects without skip; the
    misses of a block go to ``scorer.annotate`` in one call, in input order, and keep the
    scorer's own outcomes (its skip reasons included). Without a scorer (``--precomputed-only``)
    a miss has no entries and the skip ``not_precomputed``.

    Args:
        precomputed: the files to look in.
        scorer: the model's scorer (``DeltaScorer``, ``PangolinScorer``), or None.
        make_scorer: instead of ``scorer``: builds it (loads the model) at the first miss, so
            that a run whose every record is found loads no model at all.

    Attributes:
        scorer: the scorer (None until ``make_scorer`` has run, and in a lookup-only run).
    """

    def __init__(
        self,
        precomputed: PrecomputedScores,
        scorer: Any | None = None,
        *,
        make_scorer: Callable[[], Any] | None = None,
    ):
        self.precomputed = precomputed
        self.scorer = scorer
        self._make_scorer = make_scorer

    def prepare(self, variants: Sequence[Variant]) -> tuple:
        """Look the block up and prepare its misses (the scorer's ``prepare`` when it has one;
        the scorer is built here at the first miss). :meth:`run` does the rest."""
        found = [self.precomputed.lookup(variant) for variant in variants]
        misses = [variants[index] for index, entries in enumerate(found) if entries is None]
        computing = self.scorer is not None or self._make_scorer is not None
        pending: Callable[[], list] | None = None
        if misses and computing:
            if self.scorer is None and self._make_scorer is not None:
                self.scorer = self._make_scorer()
            pending = prepare_then_run(self.scorer, misses)
        return found, computing, pending

    def run(self, prepared: tuple) -> list:
        """One outcome per variant of a block from :meth:`prepare`, in input order."""
        found, computing, pending = prepared
        computed: list = list(pending()) if pending is not None else []
        outcomes: list = []
        next_computed = iter(computed)
        for entries in found:
            if entries is not None:
                outcomes.append(LookupOutcome(entries))
            elif computing:
                outcomes.append(next(next_computed))
            else:
                outcomes.append(LookupOutcome([], PrecomputedSkip.NOT_PRECOMPUTED))
        return outcomes

    def annotate(self, variants: Sequence[Variant]) -> list:
        """One outcome per variant, in input order: :meth:`run` of :meth:`prepare`."""
        return self.run(self.prepare(variants))


__all__ = [
    "COMPARED_SETTINGS",
    "LookupFirst",
    "LookupOutcome",
    "PrecomputedSkip",
    "PrecomputedScores",
    "SETTINGS_HEADER_KEY",
    "annotation_checksum",
    "annotation_name",
    "is_settings_line",
    "parse_stated_settings",
    "read_settings",
    "run_settings",
    "set_settings_lines",
    "settings_header_line",
]

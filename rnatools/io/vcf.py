"""Streaming VCF/BCF reading and writing through pysam (htslib).

Reading (:func:`open_vcf`, :func:`iter_records`): records come one at a time (never a whole file
in memory), each paired with its 1-based line number in the input. Every data line either
becomes a ``pysam.VariantRecord`` or a :class:`MalformedRecord` that says what is wrong and
holds the line's text — nothing is dropped silently. Lines are checked before htslib sees them
(at least 8 tab-separated columns, a numeric ``POS``), so the message is rnatools', not htslib's;
htslib's own ``[E::…]``/``[W::…]`` lines are silenced (:func:`set_htslib_verbosity`). Blank
lines hold no record and are skipped. Inputs:

- plain ``.vcf`` and bgzip ``.vcf.gz`` files are read by htslib, with a second, plain reader of
  the same file in step for line numbers and texts; a bgzip file with a ``.tbi``/``.csi`` index
  can be read by region (``fetch``);
- gzip that is not bgzip (``gzip file.vcf``) and standard input are decompressed in Python and
  streamed into htslib (no index is possible: a region query is an :class:`InputError` that
  gives the ``bgzip``/``tabix`` commands);
- BCF is binary: records carry no line numbers (``line`` is ``None``).

Writing (:class:`VcfWriter`): output type follows the file name: ``.vcf`` text, ``.vcf.gz``
bgzip-compressed (optionally indexed, ``.tbi`` or ``.csi``), ``.bcf`` binary; ``-`` is
uncompressed VCF on standard output. A file output appears only when complete: it is written to
a temporary file in the destination folder, indexed, then renamed. VCF text is formatted record
by record (``str(record)``, htslib's ``vcf_format``) with the BGZF block layout htslib's own
writer uses, so the bytes equal those of ``pysam.VariantFile.write`` — except that a record is
written with the INFO it has: pysam's writer would add ``END=`` to records with a symbolic ALT
(``<DEL>``) and fail on a header that does not declare ``END``; this one does neither. (A
``.bcf`` output goes through pysam's writer, which stores ``END`` for symbolic alleles.)

Failures to write raise :class:`~rnatools.errors.OutputError` after the temporary files are
removed (see :mod:`rnatools.io.atomic`).

Positions: ``record.pos`` from pysam is 1-based (VCF ``POS``); code that needs 0-based
coordinates converts once into a variable named ``pos0``.
"""

from __future__ import annotations

import abc
import collections
import contextlib
import io
import logging
import os
import shlex
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import pysam
import pysam.libcutils

from rnatools.errors import InputError, OutputError, StdoutClosed, UsageError
from rnatools.io.atomic import (
    DISK_ERRNOS,
    STDOUT_NAME,
    is_disk_error,
    output_error,
    output_errors,
    remove_quietly,
    set_default_permissions,
    temporary_beside,
)

log = logging.getLogger("rnatools.io.vcf")

IndexKind = Literal["tbi", "csi"]

SPLICEAI_INFO_HEADER = (
    '##INFO=<ID=SpliceAI,Number=.,Type=String,Description="SpliceAIv1.3.1 variant annotation. '
    "These include delta scores (DS) and delta positions (DP) for acceptor gain (AG), acceptor "
    "loss (AL), donor gain (DG), and donor loss (DL). "
    'Format: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL">'
)
"""The header line SpliceAI 1.3.1 adds (byte-identical, so outputs compare equal)."""


def max_header_line(key: str, source: str) -> str:
    """The ``##INFO`` line of a max-score key (``SpliceAI_DS_max``, ``Pangolin_max``).

    Args:
        key: the INFO key written.
        source: the INFO key whose entries it summarises.
    """
    what = (
        "the largest absolute change of P(splice), max(|GAIN|, |LOSS|),"
        if source.startswith("Pangolin")
        else "the largest delta score (DS_AG, DS_AL, DS_DG, DS_DL)"
    )
    return (
        f'##INFO=<ID={key},Number=1,Type=Float,Description="rnatools: {what} over the '
        f'alleles and genes of {source}; absent when none is scored">'
    )


def delta_info_header(key: str, model: str) -> str:
    """The ``##INFO`` line of a SpliceAI-format key written by another splice-site model.

    Args:
        key: the INFO key (``OpenSpliceAI``).
        model: the registry name of the model (``openspliceai-mane-10000``), named in the
            description.
    """
    return (
        f'##INFO=<ID={key},Number=.,Type=String,Description="{model} variant annotation '
        "(rnatools, SpliceAI 1.3.1's window, padding, alignment and masking rules). These "
        "include delta scores (DS) and delta positions (DP) for acceptor gain (AG), acceptor "
        "loss (AL), donor gain (DG), and donor loss (DL). "
        'Format: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL">'
    )


BGZF_BLOCK_SIZE = 0xFF00
"""Uncompressed bytes per BGZF block as htslib fills them (``BGZF_BLOCK_SIZE`` in bgzf.h)."""

# After this many unreadable records in a row the input is treated as broken, not as one bad line.
_MAX_CONSECUTIVE_ERRORS = 1000
# Lines the streaming reader may hold that htslib has not asked for yet (bounds its memory).
_MAX_LINES_AHEAD = 100_000

_GZIP_MAGIC = b"\x1f\x8b"
_FIXED_COLUMNS = "CHROM POS ID REF ALT QUAL FILTER INFO"


# ---------------------------------------------------------------------------------------------
# htslib's own messages and text encoding


def set_htslib_verbosity(level: int) -> int:
    """htslib's message level (0 = silent, 3 = its default); returns the previous level.

    rnatools sets 0 when this module is imported: every problem htslib reports is turned into
    one rnatools message, and htslib's ``[E::…]``/``[W::…]`` lines would only repeat it.
    """
    return pysam.set_verbosity(level)


set_htslib_verbosity(0)
# Bytes that are not UTF-8 (a latin-1 description, an ID) come out of pysam as surrogate
# escapes instead of raising UnicodeDecodeError, and are written back as the same bytes.
pysam.libcutils.set_encoding_error_handler("surrogateescape")


def _decode(line: bytes) -> str:
    return line.decode("utf-8", "surrogateescape")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------------------------
# Output names and indexes


def output_mode(path: str | Path) -> Literal["w", "wz", "wb"]:
    """pysam write mode from the file name: ``.bcf`` → ``wb``, ``.gz``/``.bgz`` → ``wz``, else
    ``w``."""
    name = str(path).lower()
    if name.endswith(".bcf"):
        return "wb"
    if name.endswith((".gz", ".bgz")):
        return "wz"
    return "w"


def check_index(path: str | Path, index: IndexKind | None) -> None:
    """Check that output ``path`` can carry ``index``.

    Raises:
        UsageError: an index for stdout or a plain ``.vcf``, or ``tbi`` for a ``.bcf``
            (``parameter="index"``).
    """
    if index is None:
        return
    mode = output_mode(path)
    if str(path) == "-" or mode == "w":
        raise UsageError(
            f"{index}: an index needs a .vcf.gz or .bcf output file", parameter="index"
        )
    if mode == "wb" and index == "tbi":
        raise UsageError("a .bcf output can only get a csi index (csi)", parameter="index")


def publish_vcf(temporary: str | Path, destination: str | Path, index: IndexKind | None) -> None:
    """Index a finished temporary VCF when asked, then move it and its index onto ``destination``.

    The index is moved first, so a reader never sees a complete VCF beside a stale index.

    Raises:
        InputError: the records are not sorted by position, so no index can be built.
        OutputError: the index or the file cannot be written or moved (disk full, ...).
    """
    temporary, destination = str(temporary), str(destination)
    with output_errors(destination):
        set_default_permissions(temporary)
    if index is not None:
        temporary_index = f"{temporary}.{index}"
        try:
            pysam.tabix_index(
                temporary,
                preset="vcf",
                force=True,
                keep_original=True,
                csi=index == "csi",
                index=temporary_index,
            )
        except OSError as exc:
            remove_quietly(temporary_index)
            if is_disk_error(exc):
                raise output_error(f"{destination}.{index}", exc) from exc
            raise InputError(
                f"cannot index the output: records are not sorted by position ({exc}); sort the "
                "input or write it without an index",
                destination,
            ) from exc
        with output_errors(f"{destination}.{index}"):
            os.replace(temporary_index, f"{destination}.{index}")
    with output_errors(destination):
        os.replace(temporary, destination)


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True, slots=True)
class MalformedRecord:
    """Stands in for a data line that is not a VCF record (it cannot be scored).

    Attributes:
        number: 1-based position of the line among the data lines (blank lines not counted).
        message: what is wrong, e.g. ``"POS 'abc' is not a number"``.
        line: 1-based line number in the input file (``None`` for BCF and region queries).
        text: the line as read, without its newline (``None`` when htslib read it alone), so
            that it can be reported or written out verbatim.
        path: the input file (``-`` for standard input).
    """

    number: int
    message: str
    line: int | None = None
    text: str | None = None
    path: str | None = None

    def error(self) -> InputError:
        """The :class:`InputError` naming file, line and problem (not raised here)."""
        if self.line is None:
            return InputError(f"record {self.number}: {self.message}", self.path)
        return InputError(self.message, self.path, self.line)

    def fields(self, width: int = 0) -> tuple[str, str, str, str, str]:
        """``(CHROM, POS, ID, REF, ALT)`` as far as the text holds them (``.`` for the rest),
        split on tabs, or on spaces when the line has no tab; values longer than ``width``
        (when > 0) are shortened by :func:`shorten`."""
        values: list[str] = []
        if self.text:
            values = self.text.split("\t") if "\t" in self.text else self.text.split()
        values = [value if value else "." for value in values[:5]]
        values += ["."] * (5 - len(values))
        if width > 0:
            values = [shorten(value, width) for value in values]
        return tuple(values)  # type: ignore[return-value]


def shorten(text: str, width: int = 50) -> str:
    """``text`` when at most ``width`` characters, else its start and its length:
    ``ACGTACGT…(3000 nt)`` (for alleles in reports and messages)."""
    if len(text) <= width:
        return text
    keep = max(1, width - 12)
    return f"{text[:keep]}…({len(text)} nt)"


def check_data_line(line: bytes) -> str | None:
    """What is wrong with one VCF data line (bytes, newline stripped), or ``None``.

    Checks what htslib would otherwise report as "truncated file" or silently misparse: tab
    separation, at least the 8 fixed columns, a non-empty CHROM, REF and ALT, and a numeric POS.
    A blank line gives ``"blank line"``.
    """
    if not line.strip():
        return "blank line"
    if b"\t" not in line:
        if len(line.split()) > 1:
            return (
                "columns are separated by spaces, not tabs (a VCF line has "
                f"{_FIXED_COLUMNS} separated by tabs)"
            )
        return f"1 column; a VCF data line has at least 8 tab-separated columns ({_FIXED_COLUMNS})"
    columns = line.split(b"\t", 8)
    if len(columns) < 8:
        return (
            f"{len(columns)} columns; a VCF data line has at least 8 tab-separated columns "
            f"({_FIXED_COLUMNS})"
        )
    chrom, pos, _, ref, alt = columns[:5]
    if not chrom.strip():
        return "empty CHROM"
    if not pos.isdigit():
        return f"POS {_decode(pos)!r} is not a number"
    if not ref.strip() or not alt.strip():
        return "empty REF" if not ref.strip() else "empty ALT"
    return None


class _LineSource(abc.ABC):
    """Data lines of the input in file order, each as ``(line number, bytes, problem, fed)``:
    ``problem`` from :func:`check_data_line`, ``fed`` whether htslib reads the line too."""

    @abc.abstractmethod
    def next_line(self) -> tuple[int, bytes, str | None, bool] | None:
        """The next data line, or None at the end."""

    def close(self) -> None:  # noqa: B027 - a source without resources has nothing to close
        """Release what the source holds (files, threads)."""

    def failure(self) -> BaseException | None:
        """An exception that stopped the source early (a corrupt gzip stream), if any."""
        return None


def _strip_newline(line: bytes) -> bytes:
    if line.endswith(b"\n"):
        line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    return line


def _skip_header(lines: Iterator[bytes]) -> int:
    """Consume the header (``##`` lines and the ``#CHROM`` line); return its line count."""
    count = 0
    for line in lines:
        count += 1
        if not line.startswith(b"##"):
            return count
    return count


class _FileLines(_LineSource):
    """A second, plain reader of a file htslib reads itself (in step, line for line)."""

    def __init__(self, path: str):
        self._handle = _open_bytes(path)
        self._number = _skip_header(iter(self._handle.readline, b""))
        self._failure: BaseException | None = None

    def next_line(self) -> tuple[int, bytes, str | None, bool] | None:
        try:
            raw = self._handle.readline()
        except (OSError, EOFError, ValueError) as exc:  # gzip.BadGzipFile is an OSError
            self._failure = exc
            return None
        if not raw:
            return None
        self._number += 1
        line = _strip_newline(raw)
        return self._number, line, check_data_line(line), True

    def failure(self) -> BaseException | None:
        return self._failure

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._handle.close()


class _StreamFeeder(_LineSource):
    """Reads a stream in a thread and feeds htslib the header and the well-formed data lines
    through a pipe (for gzip that is not bgzip, and standard input); the malformed lines are
    kept back, so htslib never sees them."""

    def __init__(self, source: IO[bytes], write_fd: int, flush_each_line: bool = False):
        self._source = source
        self._write_fd = write_fd
        # A slow source (standard input) must not leave a line htslib waits for in the buffer:
        # htslib's read() cannot be interrupted, a wait on the next line can (SIGTERM, Ctrl-C).
        self._flush_each_line = flush_each_line
        self._entries: collections.deque = collections.deque()
        self._ready = threading.Condition()
        self._done = False
        self._closed = False
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="rnatools-vcf-feeder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with os.fdopen(self._write_fd, "wb", buffering=1 << 16) as sink:
                lines = iter(self._source.readline, b"")
                in_header = True
                number = 0
                for raw in lines:
                    number += 1
                    if in_header:
                        sink.write(raw if raw.endswith(b"\n") else raw + b"\n")
                        in_header = raw.startswith(b"##")
                        if not in_header:
                            sink.flush()  # htslib can open the file now
                        continue
                    line = _strip_newline(raw)
                    problem = check_data_line(line)
                    with self._ready:
                        while len(self._entries) >= _MAX_LINES_AHEAD and not self._closed:
                            self._ready.wait()
                        if self._closed:
                            return
                        self._entries.append((number, line, problem, problem is None))
                        self._ready.notify_all()
                    if problem is None:
                        sink.write(line + b"\n")
                        if self._flush_each_line:
                            sink.flush()
        except BrokenPipeError:
            pass  # the reader was closed before the end
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self._failure = exc
        finally:
            with contextlib.suppress(Exception):
                self._source.close()
            with self._ready:
                self._done = True
                self._ready.notify_all()

    def next_line(self) -> tuple[int, bytes, str | None, bool] | None:
        with self._ready:
            while not self._entries and not self._done:
                self._ready.wait()
            if not self._entries:
                return None
            entry = self._entries.popleft()
            self._ready.notify_all()
            return entry

    def failure(self) -> BaseException | None:
        return self._failure

    def join(self, timeout: float = 1.0) -> None:
        self._thread.join(timeout)

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._entries.clear()
            self._ready.notify_all()


class _PrefixedStream(io.RawIOBase):
    """``prefix`` then the rest of ``stream`` (for standard input after sniffing its start)."""

    def __init__(self, prefix: bytes, stream: IO[bytes]):
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._prefix:
            count = min(len(buffer), len(self._prefix))
            buffer[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        # read1: what is there now (up to the size), not a wait for a full buffer: a record
        # must reach htslib as soon as its line has arrived on a slow pipe.
        read = getattr(self._stream, "read1", self._stream.read)
        data = read(len(buffer))
        count = len(data)
        buffer[:count] = data
        return count


def _open_bytes(path: str) -> IO[bytes]:
    """A file as decompressed bytes (plain, gzip or BGZF: BGZF is multi-member gzip)."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == _GZIP_MAGIC:
        import gzip

        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115 - closed by the caller


def _sniff(path: str) -> Literal["empty", "bgzf", "gzip", "bcf", "text"]:
    """What the file holds, from its first bytes."""
    with open(path, "rb") as handle:
        start = handle.read(18)
    if not start:
        return "empty"
    if start[:2] == _GZIP_MAGIC:
        # BGZF: a gzip member with FEXTRA and a 'BC' subfield (SAM/BAM spec, section 4.1).
        bgzf = len(start) >= 14 and start[3] & 4 and start[12:14] == b"BC"
        import gzip

        try:
            with gzip.open(path, "rb") as inner:
                if inner.read(3) == b"BCF":
                    return "bcf"
        except (OSError, EOFError):
            pass  # a damaged stream: let the readers report it
        return "bgzf" if bgzf else "gzip"
    if start[:3] == b"BCF":
        return "bcf"
    return "text"


def _region_commands(path: str, kind: str) -> str:
    """The commands that make ``path`` readable by region."""
    if kind == "stdin":
        return "standard input cannot be read by region; give a bgzip-compressed, indexed file"
    name = shlex.quote(path)
    if kind == "gzip":
        return (
            "it is gzip-compressed but not with bgzip; recompress and index it: "
            f"gzip -dc {name} | bgzip > {name}.bgz && mv {name}.bgz {name} && tabix -p vcf {name}"
        )
    if kind == "bgzf":
        return f"it has no index; index it: tabix -p vcf {name}"
    if kind == "bcf":
        return f"it has no index; index it: bcftools index {name}"
    return (
        f"it is not compressed; compress and index it: bgzip {name} && tabix -p vcf "
        f"{shlex.quote(path + '.gz')}"
    )


class VcfReader(pysam.VariantFile):
    """A ``pysam.VariantFile`` opened for reading by :func:`open_vcf` that knows, for every
    record, the line it came from.

    Iterating it (``for record in vcf``) yields records and raises :class:`InputError` (file,
    line, problem) at the first malformed line; :func:`iter_records` yields a
    :class:`MalformedRecord` instead and goes on.

    Attributes:
        path: the input (``-`` = standard input).
        line: 1-based input line of the record returned last (``None`` before the first one,
            for BCF input, and for records of :meth:`fetch`).
        text: that line's text, without its newline (``None`` where ``line`` is).
        kind: ``text``, ``bgzf``, ``gzip`` (not bgzip), ``bcf`` or ``stdin``.
    """

    def _attach(self, path: str, kind: str, source: _LineSource | None) -> None:
        self.path = path
        self.kind = kind
        self.line: int | None = None
        self.text: str | None = None
        self._source = source
        self._number = 0

    def next_item(self) -> pysam.VariantRecord | MalformedRecord:
        """The next record, or a :class:`MalformedRecord` for a line that is not one.

        Updates :attr:`line` and :attr:`text`.

        Raises:
            StopIteration: at the end of the input.
            InputError: the input ends early or cannot be decompressed.
        """
        if self._source is None:
            return self._next_without_lines()
        while True:
            entry = self._source.next_line()
            if entry is None:
                self._check_end()
                raise StopIteration
            number, line, problem, fed = entry
            # htslib adds the first column of a line it cannot split as a contig: noted, undone.
            contigs = len(self.header.contigs) if fed and problem is not None else 0
            record = None
            failure: BaseException | None = None
            if fed:
                try:
                    record = pysam.VariantFile.__next__(self)
                except StopIteration:
                    raise InputError(
                        "htslib stopped reading here (a NUL byte or a damaged file?)",
                        self.path,
                        number,
                    ) from None
                except (OSError, ValueError) as exc:
                    failure = exc
            if fed and problem is not None and len(self.header.contigs) > contigs:
                self._forget_contigs(contigs)
            if problem == "blank line":
                log.debug("%s:%d: blank line skipped", self.path, number)
                continue
            self._number += 1
            text = _decode(line)
            if problem is None and failure is not None:
                problem = (
                    f"htslib cannot parse this line ({failure}): a value that does not match "
                    "its header definition, or a wrong number of sample columns?"
                )
            if problem is not None:
                self.line, self.text = number, text
                return MalformedRecord(self._number, problem, number, text, self.path)
            self.line, self.text = number, text
            return record

    def _next_without_lines(self) -> pysam.VariantRecord | MalformedRecord:
        self._number += 1
        try:
            return pysam.VariantFile.__next__(self)
        except StopIteration:
            raise
        except (OSError, ValueError) as exc:
            return MalformedRecord(self._number, f"htslib cannot read it ({exc})", path=self.path)

    def _check_end(self) -> None:
        failure = self._source.failure() if self._source is not None else None
        if failure is not None:
            raise InputError(
                f"cannot read past line {self.line or 'the header'}: damaged or truncated file "
                f"({failure})",
                self.path,
            ) from failure
        if isinstance(self._source, _FileLines):
            try:
                extra = pysam.VariantFile.__next__(self)
            except StopIteration:
                return
            except (OSError, ValueError):
                extra = None
            raise InputError(
                f"htslib read more than the file's lines ({extra}); damaged file?", self.path
            )

    def _forget_contigs(self, keep: int) -> None:
        for name in list(self.header.contigs)[keep:]:
            with contextlib.suppress(Exception):
                self.header.contigs[name].remove_header()

    def __next__(self) -> pysam.VariantRecord:
        item = self.next_item()
        if isinstance(item, MalformedRecord):
            raise item.error()
        return item

    def fetch(self, *args, **kwargs):
        """Records in a region (see ``pysam.VariantFile.fetch``); needs an index.

        Raises:
            InputError: the input cannot have an index (not bgzip, standard input) or has none;
                the message gives the commands that make one.
        """
        if self.index is None:
            raise InputError(
                f"cannot read by region: {_region_commands(self.path, self.kind)}", self.path
            )
        self.line = self.text = None  # records of a region query carry no line number
        return super().fetch(*args, **kwargs)

    def close(self) -> None:
        if getattr(self, "_source", None) is not None:
            self._source.close()
        super().close()


def open_vcf(path: str | Path) -> VcfReader:
    """Open a VCF/BCF (plain, bgzip or gzip) for streaming; ``-`` is standard input.

    Raises:
        InputError: the file does not exist, is empty, cannot be read, or has no VCF header.
    """
    text = str(path)
    if text == "-":
        return _open_stream(text, "stdin", sys.stdin.buffer)
    file = Path(text)
    if not file.exists():
        raise InputError("VCF file not found", text)
    if file.is_dir():
        raise InputError("is a folder, not a VCF file", text)
    try:
        kind = _sniff(text)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", text) from exc
    if kind == "empty":
        raise InputError(
            "the file is empty (a VCF has at least its '##fileformat' and '#CHROM' header lines)",
            text,
        )
    if kind == "gzip":
        import gzip

        return _open_stream(text, kind, gzip.open(text, "rb"))  # type: ignore[arg-type]
    try:
        vcf = VcfReader(text, "r")
    except (OSError, ValueError) as exc:
        if kind in ("bgzf", "bcf") and not _has_bgzf_eof(text):
            raise InputError(
                "truncated: the file ends without bgzip's end-of-file block (an interrupted "
                "copy, download or run?)",
                text,
            ) from exc
        raise _header_error(text) from exc
    try:
        source = None if kind == "bcf" else _FileLines(text)
    except BaseException:
        vcf.close()
        raise
    vcf._attach(text, kind, source)
    return vcf


_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def _has_bgzf_eof(path: str) -> bool:
    """Whether a BGZF file ends with the empty end-of-file block htslib writes."""
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() < len(_BGZF_EOF):
            return False
        handle.seek(-len(_BGZF_EOF), os.SEEK_END)
        return handle.read() == _BGZF_EOF
    return True  # cannot tell: let the header message stand


def _header_error(path: str) -> InputError:
    return InputError(
        "cannot read as VCF/BCF (a '##fileformat' and '#CHROM' header is required)", path
    )


def _open_stream(path: str, kind: str, stream: IO[bytes]) -> VcfReader:
    """htslib reading a stream that a thread decompresses and checks line by line."""
    if kind == "stdin":
        prefix = stream.read(2)
        stream = io.BufferedReader(_PrefixedStream(prefix, stream))  # type: ignore[arg-type]
        if prefix == _GZIP_MAGIC:
            import gzip

            stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
    read_fd, write_fd = os.pipe()
    feeder = _StreamFeeder(stream, write_fd, flush_each_line=kind == "stdin")
    with os.fdopen(read_fd, "rb") as handle:  # htslib reads a duplicate of the descriptor
        try:
            vcf = VcfReader(handle, "r")
        except (OSError, ValueError) as exc:
            feeder.close()
            handle.close()  # the feeder's next write fails: it stops
            feeder.join()
            failure = feeder.failure()
            if failure is not None:
                raise InputError(
                    f"cannot read: damaged or truncated file ({failure})", path
                ) from exc
            raise _header_error(path) from exc
    vcf._attach(path, kind, feeder)
    return vcf


def iter_records(
    vcf: pysam.VariantFile | Iterable, path: str | Path = "-"
) -> Iterator[pysam.VariantRecord | MalformedRecord]:
    """Records in file order; a line that is not a record yields a :class:`MalformedRecord`.

    With a :class:`VcfReader`, ``vcf.line`` is the input line of the item just yielded (read it
    before asking for the next one).

    Raises:
        InputError: more than 1,000 consecutive unreadable lines (a corrupt or truncated file),
            or a file that ends in the middle of a compressed block.
    """
    if isinstance(vcf, VcfReader):
        next_item = vcf.next_item
    else:
        iterator = iter(vcf)
        counter = [0]

        def next_item() -> pysam.VariantRecord | MalformedRecord:
            counter[0] += 1
            try:
                return next(iterator)
            except StopIteration:
                raise
            except (OSError, ValueError) as exc:
                message = f"htslib cannot read it ({exc})"
                return MalformedRecord(counter[0], message, path=str(path))

    errors_in_a_row = 0
    while True:
        try:
            item = next_item()
        except StopIteration:
            return
        if isinstance(item, MalformedRecord):
            errors_in_a_row += 1
            if errors_in_a_row > _MAX_CONSECUTIVE_ERRORS:
                raise InputError(
                    f"more than {_MAX_CONSECUTIVE_ERRORS} unreadable lines in a row up to record "
                    f"{item.number} (last: {item.message}); not a VCF, or a damaged one",
                    path,
                    item.line,
                )
        else:
            errors_in_a_row = 0
        yield item


def iter_numbered(
    vcf: VcfReader, path: str | Path | None = None
) -> Iterator[tuple[int | None, pysam.VariantRecord | MalformedRecord]]:
    """``(line, record)`` pairs of :func:`iter_records` (``line`` None where unknown)."""
    for item in iter_records(vcf, vcf.path if path is None else path):
        yield (item.line if isinstance(item, MalformedRecord) else vcf.line), item


# ---------------------------------------------------------------------------------------------
# Header and INFO edits


def info_key(line: str) -> str:
    """The ID of an ``##INFO=<ID=KEY,...>`` header line.

    Raises:
        ValueError: ``line`` is not an INFO header line.
    """
    if not line.startswith("##INFO=<ID="):
        raise ValueError(f"not an INFO header line: {line!r}")
    return line[len("##INFO=<ID=") :].split(",", 1)[0]


def replace_info_header(header: pysam.VariantHeader, lines: Iterable[str]) -> list[str]:
    """Make each ``##INFO`` line of ``lines`` the definition of its key in ``header``.

    A key already declared with other words is removed first (its line is replaced, at the end
    of the header); an identical line is left in place. Call it before records are read, so
    that every record is parsed with the new definitions.

    Returns:
        The keys whose earlier, different definition was replaced.
    """
    replaced: list[str] = []
    for line in lines:
        key = info_key(line)
        if key in header.info:
            existing = header.info[key].record
            if existing is not None and str(existing).rstrip("\n") == line:
                continue
            header.info[key].remove_header()
            replaced.append(key)
        header.add_line(line)
    return replaced


def strip_info(record: pysam.VariantRecord, keys: Iterable[str]) -> int:
    """Remove the INFO entries ``keys`` from ``record``; returns how many it held.

    For re-annotation: the values an earlier run wrote are removed before new ones are set, so
    a record the new run leaves unscored keeps none of them.
    """
    removed = 0
    info = record.info
    for key in keys:
        if key in info:
            del info[key]
            removed += 1
    return removed


# ---------------------------------------------------------------------------------------------
# Writing


class BgzfLineWriter:
    """BGZF framed the way htslib's VCF writer frames it: the header alone in its first
    block(s), then a block flushed before any line that would not fit in it
    (``bgzf_flush_try``), so the bytes equal ``pysam.VariantFile(..., "wz")``'s."""

    def __init__(self, path: str):
        self._file = pysam.BGZFile(path, "wb")
        self._fill = 0

    def write_header(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        self._fill = 0

    def write_line(self, line: bytes) -> None:
        if self._fill + len(line) > BGZF_BLOCK_SIZE:
            self._file.flush()
            self._fill = 0
        self._file.write(line)
        self._fill = (self._fill + len(line)) % BGZF_BLOCK_SIZE

    def close(self) -> None:
        self._file.close()


class _PlainSink:
    def __init__(self, handle: IO[bytes], close: bool):
        self._handle = handle
        self._close = close

    def write_header(self, data: bytes) -> None:
        self._handle.write(data)

    def write_line(self, line: bytes) -> None:
        self._handle.write(line)

    def close(self) -> None:
        self._handle.flush()
        if self._close:
            self._handle.close()


class VcfWriter:
    """Write records to ``path`` atomically; a context manager.

    Args:
        path: destination (``-`` = stdout, uncompressed VCF).
        header: the header of the records that will be written (its text at this moment is
            the output's header).
        index: ``tbi`` or ``csi`` to index the output (needs ``.vcf.gz``, or ``.bcf`` with csi).
        info_lines: the ``##INFO`` lines of the keys this run writes (e.g.
            :data:`SPLICEAI_INFO_HEADER`): they replace any earlier definition of those keys in
            ``header`` (:func:`replace_info_header`), and :meth:`write` with ``info=`` removes
            their old values from each record first (counted in :attr:`replaced`).

    Attributes:
        replaced: INFO entries of the ``info_lines`` keys removed from records by
            :meth:`write` (values of an earlier run).
        records: records written (lines of :meth:`write_line` included).

    Raises:
        UsageError: an index asked for an output that cannot carry one.
        OutputError: the destination folder does not exist or is not writable.
    """

    def __init__(
        self,
        path: str | Path,
        header: pysam.VariantHeader,
        index: IndexKind | None = None,
        *,
        info_lines: Sequence[str] = (),
    ):
        self.path = str(path)
        self.mode = output_mode(self.path)
        self.index = index
        self.replaced = 0
        self.records = 0
        check_index(self.path, index)
        self.own_keys = tuple(info_key(line) for line in info_lines)
        if info_lines:
            replace_info_header(header, info_lines)
        self._temporary: str | None = None
        self._sink: BgzfLineWriter | _PlainSink | None = None
        self._file: pysam.VariantFile | None = None
        if self.path == "-":
            sys.stdout.flush()
            self._sink = _PlainSink(sys.stdout.buffer, close=False)
            try:
                self._sink.write_header(_encode(str(header)))
            except BrokenPipeError as exc:
                raise StdoutClosed() from exc
            return
        suffix = {"w": ".vcf", "wz": ".vcf.gz", "wb": ".bcf"}[self.mode]
        self._temporary = temporary_beside(self.path, f".tmp{suffix}")
        try:
            with output_errors(self.path):
                if self.mode == "wb":
                    self._file = pysam.VariantFile(self._temporary, "wb", header=header)
                    self._declared = _declared_names(self._file.header)
                    self._header_records = len(header.records)
                elif self.mode == "wz":
                    self._sink = BgzfLineWriter(self._temporary)
                    self._sink.write_header(_encode(str(header)))
                else:
                    self._sink = _PlainSink(open(self._temporary, "wb"), close=True)  # noqa: SIM115
                    self._sink.write_header(_encode(str(header)))
        except BaseException:
            self.abort()
            raise

    def write(
        self,
        record: pysam.VariantRecord,
        info: Mapping[str, Sequence[str] | None] | None = None,
    ) -> None:
        """Write ``record``, with INFO as it is — or, given ``info``, after removing the old
        values of the writer's ``info_lines`` keys and setting ``info``'s non-empty values.

        Raises:
            OutputError: the disk is full or the output cannot be written.
            InputError: a ``.bcf`` output and a record that uses a contig, FILTER, INFO or
                FORMAT name its header does not declare.
            StdoutClosed: standard output was closed by the reader (``| head``).
        """
        if info is not None:
            if self.own_keys:
                self.replaced += strip_info(record, self.own_keys)
            for key, values in info.items():
                if values:
                    record.info[key] = tuple(values)
        if self._file is not None:
            self._write_bcf(record)
        else:
            self._write_bytes(_encode(str(record)))
        self.records += 1

    def write_line(self, text: str) -> None:
        """Write one line as it is (a malformed input line passed through verbatim).

        Raises:
            InputError: the output is ``.bcf``, which cannot hold a line that is not a record.
            OutputError: the disk is full or the output cannot be written.
        """
        if self._file is not None:
            raise InputError(
                "a line that is not a VCF record cannot be written into a .bcf output; write "
                ".vcf or .vcf.gz",
                self.path,
            )
        self._write_bytes(_encode(text.rstrip("\n") + "\n"))
        self.records += 1

    def _write_bytes(self, line: bytes) -> None:
        assert self._sink is not None
        try:
            self._sink.write_line(line)
        except BrokenPipeError as exc:
            raise StdoutClosed() from exc
        except OSError as exc:
            raise output_error(self._shown_path, exc) from exc

    def _write_bcf(self, record: pysam.VariantRecord) -> None:
        assert self._file is not None
        undeclared: list[str] = []
        if len(record.header.records) != self._header_records:
            undeclared = _undeclared(record, self._declared)
        if "END" not in self._declared["INFO"] and _has_symbolic_allele(record):
            undeclared.append("INFO END (htslib's BCF writer stores END for symbolic alleles)")
        if undeclared:
            raise InputError(
                f"{record.chrom}:{record.pos}: {', '.join(undeclared)} not declared in the "
                "header; a .bcf output needs every contig, FILTER, INFO and FORMAT name "
                "declared: add the ## lines to the input, or write .vcf or .vcf.gz",
                self.path,
            )
        try:
            self._file.write(record)
        except OSError as exc:
            error = output_error(self.path, exc)
            if error.errno is not None and error.errno in DISK_ERRNOS:
                raise error from exc
            raise InputError(
                f"{record.chrom}:{record.pos}: htslib cannot write this record into a .bcf "
                f"({exc}); write .vcf or .vcf.gz",
                self.path,
            ) from exc

    @property
    def _shown_path(self) -> str:
        return STDOUT_NAME if self.path == "-" else self.path

    def close(self) -> None:
        """Finish the file: close, index, and move it (and its index) into place.

        Raises:
            OutputError: the disk fills up while the last data is written, or the rename fails.
            InputError: an index was asked for and the records are not sorted.
            StdoutClosed: standard output was closed by the reader (``| head``).
        """
        try:
            if self._file is not None:
                with output_errors(self.path):
                    self._file.close()
            elif self._sink is not None:
                sink, self._sink = self._sink, None
                try:
                    sink.close()
                except BrokenPipeError as exc:
                    raise StdoutClosed() from exc
                except OSError as exc:
                    raise output_error(self._shown_path, exc) from exc
            if self._temporary is None:
                return
            publish_vcf(self._temporary, self.path, self.index)
            self._temporary = None
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Close and remove the temporary file; the destination is left untouched."""
        if self._file is not None:
            with contextlib.suppress(Exception):
                self._file.close()
        if self._sink is not None:
            sink, self._sink = self._sink, None
            if self._temporary is not None:  # never flush into stdout on the way out
                with contextlib.suppress(Exception):
                    sink.close()
        if self._temporary is not None:
            temporary, self._temporary = self._temporary, None
            remove_quietly(temporary, f"{temporary}.tbi", f"{temporary}.csi")

    def __enter__(self) -> VcfWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _has_symbolic_allele(record: pysam.VariantRecord) -> bool:
    """What pysam's writer calls symbolic (it then sets ``END``): ``<...>`` and breakends."""
    return any(alt.startswith("<") or "[" in alt or "]" in alt for alt in record.alts or ())


def _declared_names(header: pysam.VariantHeader) -> dict[str, frozenset[str]]:
    return {
        "contig": frozenset(header.contigs),
        "FILTER": frozenset(header.filters),
        "INFO": frozenset(header.info),
        "FORMAT": frozenset(header.formats),
    }


def _undeclared(record: pysam.VariantRecord, declared: Mapping[str, frozenset[str]]) -> list[str]:
    names = []
    if record.chrom not in declared["contig"]:
        names.append(f"contig {record.chrom}")
    names += [f"FILTER {key}" for key in record.filter if key not in declared["FILTER"]]
    names += [f"INFO {key}" for key in record.info if key not in declared["INFO"]]
    names += [f"FORMAT {key}" for key in record.format if key not in declared["FORMAT"]]
    return names


__all__ = [
    "BGZF_BLOCK_SIZE",
    "BgzfLineWriter",
    "SPLICEAI_INFO_HEADER",
    "IndexKind",
    "MalformedRecord",
    "OutputError",
    "VcfReader",
    "VcfWriter",
    "check_data_line",
    "check_index",
    "info_key",
    "iter_numbered",
    "iter_records",
    "open_vcf",
    "output_mode",
    "publish_vcf",
    "replace_info_header",
    "set_htslib_verbosity",
    "shorten",
    "strip_info",
]

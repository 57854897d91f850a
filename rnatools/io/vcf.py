"""Streaming VCF/BCF reading and writing through pysam (htslib).

Records are read one at a time (never a whole file in memory). Output type follows the file
name: ``.vcf`` text, ``.vcf.gz`` bgzip-compressed (optionally indexed, ``.tbi`` or ``.csi``),
``.bcf`` binary; ``-`` is uncompressed VCF on standard output. A file output appears only when
complete: it is written to a temporary file in the destination folder, indexed, then renamed.

Positions: ``record.pos`` from pysam is 1-based (VCF ``POS``); code that needs 0-based
coordinates converts once into a variable named ``pos0``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pysam

from rnatools.errors import InputError, UsageError
from rnatools.io.atomic import set_default_permissions

log = logging.getLogger("rnatools.io.vcf")

IndexKind = Literal["tbi", "csi"]

SPLICEAI_INFO_HEADER = (
    '##INFO=<ID=SpliceAI,Number=.,Type=String,Description="SpliceAIv1.3.1 variant annotation. '
    "These include delta scores (DS) and delta positions (DP) for acceptor gain (AG), acceptor "
    "loss (AL), donor gain (DG), and donor loss (DL). "
    'Format: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL">'
)
"""The header line SpliceAI 1.3.1 adds (byte-identical, so outputs compare equal)."""

END_INFO_HEADER = (
    '##INFO=<ID=END,Number=1,Type=Integer,Description="Stop position of the interval">'
)
"""Added when the input lacks it and symbolic alleles show up (htslib writes END for them)."""

# After this many unreadable records in a row the input is treated as broken, not as one bad line.
_MAX_CONSECUTIVE_ERRORS = 1000


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
        UsageError: an index for stdout or a plain ``.vcf``, or ``tbi`` for a ``.bcf``.
    """
    if index is None:
        return
    mode = output_mode(path)
    if str(path) == "-" or mode == "w":
        raise UsageError("--index needs a .vcf.gz or .bcf output file")
    if mode == "wb" and index == "tbi":
        raise UsageError("a .bcf output can only get a csi index (--index csi)")


def publish_vcf(temporary: str | Path, destination: str | Path, index: IndexKind | None) -> None:
    """Index a finished temporary VCF when asked, then move it and its index onto ``destination``.

    The index is moved first, so a reader never sees a complete VCF beside a stale index.

    Raises:
        InputError: the records are not sorted by position, so no index can be built.
    """
    temporary, destination = str(temporary), str(destination)
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
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary_index)
            raise InputError(
                f"cannot index the output: records are not sorted by position ({exc}); sort the "
                "input or write it without an index",
                destination,
            ) from exc
        os.replace(temporary_index, f"{destination}.{index}")
    os.replace(temporary, destination)


def open_vcf(path: str | Path) -> pysam.VariantFile:
    """Open a VCF/BCF (plain, bgzip or gzip) for streaming; ``-`` is standard input.

    Raises:
        InputError: the file does not exist, cannot be read, or has no VCF header.
    """
    text = str(path)
    if text != "-" and not Path(text).is_file():
        raise InputError("VCF file not found", text)
    try:
        return pysam.VariantFile(text, "r")
    except (OSError, ValueError) as exc:
        raise InputError(
            "cannot read as VCF/BCF (a '##fileformat' and '#CHROM' header is required)", text
        ) from exc


@dataclass(frozen=True, slots=True)
class MalformedRecord:
    """Stands in for a record htslib could not parse (it cannot be written back)."""

    number: int
    message: str


def iter_records(
    vcf: pysam.VariantFile, path: str | Path = "-"
) -> Iterator[pysam.VariantRecord | MalformedRecord]:
    """Records in file order; a record htslib rejects yields a :class:`MalformedRecord`.

    Raises:
        InputError: more than 1,000 consecutive unreadable records (a corrupt or truncated file).
    """
    iterator = iter(vcf)
    number = 0
    errors_in_a_row = 0
    while True:
        number += 1
        try:
            record = next(iterator)
        except StopIteration:
            return
        except (OSError, ValueError) as exc:
            errors_in_a_row += 1
            if errors_in_a_row > _MAX_CONSECUTIVE_ERRORS:
                raise InputError(f"unreadable after record {number} ({exc})", path) from exc
            yield MalformedRecord(number, str(exc))
            continue
        errors_in_a_row = 0
        yield record


def add_header_line(header: pysam.VariantHeader, line: str) -> None:
    """Add ``line`` unless an INFO line with the same ID is already there (it is then kept)."""
    if line.startswith("##INFO=<ID="):
        key = line[len("##INFO=<ID=") :].split(",", 1)[0]
        if key in header.info:
            return
    header.add_line(line)


class VcfWriter:
    """Write records to ``path`` atomically; a context manager.

    Args:
        path: destination (``-`` = stdout, uncompressed VCF).
        header: the header of the records that will be written.
        index: ``tbi`` or ``csi`` to index the output (needs ``.vcf.gz``, or ``.bcf`` with csi).

    Raises:
        UsageError: an index asked for an output that cannot carry one.
        InputError: the destination folder does not exist.
    """

    def __init__(
        self, path: str | Path, header: pysam.VariantHeader, index: IndexKind | None = None
    ):
        self.path = str(path)
        self.mode = output_mode(self.path)
        self.index = index
        check_index(self.path, index)
        self._temporary: str | None = None
        if self.path == "-":
            self._file = pysam.VariantFile("-", self.mode, header=header)
            return
        folder = Path(self.path).parent
        if not folder.is_dir():
            raise InputError("output folder does not exist", folder)
        suffix = {"w": ".vcf", "wz": ".vcf.gz", "wb": ".bcf"}[self.mode]
        descriptor, self._temporary = tempfile.mkstemp(
            prefix=f".{Path(self.path).name}.", suffix=f".tmp{suffix}", dir=folder
        )
        os.close(descriptor)
        self._file = pysam.VariantFile(self._temporary, self.mode, header=header)

    def write(self, record: pysam.VariantRecord) -> None:
        self._file.write(record)

    def close(self) -> None:
        """Finish the file: close, index, and move it (and its index) into place."""
        self._file.close()
        if self._temporary is None:
            return
        try:
            publish_vcf(self._temporary, self.path, self.index)
        except BaseException:
            self.abort()
            raise
        self._temporary = None

    def abort(self) -> None:
        """Close and remove the temporary file; the destination is left untouched."""
        with contextlib.suppress(OSError, ValueError):
            self._file.close()
        if self._temporary is not None:
            for leftover in (self._temporary, f"{self._temporary}.tbi", f"{self._temporary}.csi"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)
            self._temporary = None

    def __enter__(self) -> VcfWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


__all__ = [
    "END_INFO_HEADER",
    "SPLICEAI_INFO_HEADER",
    "IndexKind",
    "MalformedRecord",
    "VcfWriter",
    "add_header_line",
    "check_index",
    "iter_records",
    "open_vcf",
    "output_mode",
    "publish_vcf",
]

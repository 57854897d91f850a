"""BED intervals (BED3 to BED6 and wider; extra columns are ignored).

BED is 0-based half-open, the same convention as :class:`rnatools.genome.Interval`, so columns 2
and 3 are used as they are. Blank lines and lines starting with ``#``, ``track`` or ``browser``
are skipped. The file may be gzip-compressed.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

from rnatools.errors import InputError
from rnatools.genome import Interval

_SKIPPED_PREFIXES = ("#", "track", "browser")


def _open_text(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path)


def read_bed(path: str | Path) -> Iterator[Interval]:
    """Intervals of a BED file, in file order.

    Columns: chrom, start (0-based), end (exclusive), optional name (column 4), score (column 5,
    ignored) and strand (column 6: ``+``, ``-`` or ``.``). Intervals without a strand column get
    ``'.'`` (unstranded); without a name column, ``name`` is None.

    Yields:
        :class:`Interval` per data line.

    Raises:
        InputError: a missing file, or a line with fewer than 3 columns, non-integer coordinates,
            ``start < 0``, ``start > end`` or a strand other than ``+``/``-``/``.`` (the message
            names the file and the 1-based line number and says what was expected).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("BED file not found", path)
    with _open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith(_SKIPPED_PREFIXES):
                continue
            fields = line.split("\t")
            if len(fields) < 3:
                fields = line.split()
            if len(fields) < 3:
                raise InputError(
                    "expected at least 3 tab-separated columns (chrom, start, end), "
                    f"got {len(fields)}",
                    path,
                    line_number,
                )
            chrom, start_text, end_text = fields[0], fields[1], fields[2]
            try:
                start, end = int(start_text), int(end_text)
            except ValueError:
                raise InputError(
                    f"expected integer start and end in columns 2-3, got {start_text!r} and "
                    f"{end_text!r}",
                    path,
                    line_number,
                ) from None
            if start < 0 or start > end:
                raise InputError(
                    f"expected 0 <= start <= end (0-based half-open), got start={start} end={end}",
                    path,
                    line_number,
                )
            name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else None
            strand = fields[5] if len(fields) > 5 and fields[5] else "."
            if strand not in ("+", "-", "."):
                raise InputError(
                    f"expected strand '+', '-' or '.' in column 6, got {strand!r}",
                    path,
                    line_number,
                )
            yield Interval(chrom, start, end, strand, name)  # type: ignore[arg-type]

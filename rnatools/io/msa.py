"""Reading RNA multiple sequence alignments (FASTA, A2M, A3M) for RNA-MSM.

Every row is normalised the way RNA-MSM's own loader does it (Zhang et al., NAR 2024,
doi:10.1093/nar/gkad1031; behaviour documented in ``shared/fixtures/rnamsm/README.md``):

- lowercase letters, ``.`` and ``*`` are insertions relative to the query (A2M/A3M) and are
  deleted, so every row ends up as long as the query;
- ``T`` becomes ``U``;
- the ambiguity codes ``R Y K M S W B D H V N`` become ``X`` (so ``N`` is read as ``X``);
- ``A C G U X -`` are kept; any other character is an error.

Letters are not upper-cased: in an alignment a lowercase letter means "insertion", never
"nucleotide". A plain aligned FASTA (no lowercase) therefore reads unchanged apart from T→U and
the ambiguity codes. The first record is the query.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rnatools.errors import InputError

#: Letters a normalised alignment row may contain.
ALIGNMENT_ALPHABET = frozenset("AGCUX-")

_DELETED = "".join(chr(c) for c in range(ord("a"), ord("z") + 1)) + ".*"
_AMBIGUOUS = "RYKMSWBDHVN"
_NORMALISE = str.maketrans("T" + _AMBIGUOUS, "U" + "X" * len(_AMBIGUOUS), _DELETED)


def normalise_row(row: str) -> str:
    """One alignment row as RNA-MSM reads it: insertions deleted, T→U, ambiguity codes → X.

    Args:
        row: an aligned sequence (A2M/A3M: lowercase letters, ``.`` and ``*`` are insertions).

    Returns:
        The row over the alphabet ``A C G U X -``.

    Raises:
        ValueError: the row holds a character outside the alignment alphabet (whitespace
            included); :func:`read_msa` turns this into an :class:`InputError` with file and line.
    """
    normalised = row.translate(_NORMALISE)
    bad = sorted(set(normalised) - ALIGNMENT_ALPHABET)
    if bad:
        raise ValueError(
            f"unexpected character(s) {', '.join(map(repr, bad))} in alignment row; expected "
            "A C G U/T, gap '-', IUPAC ambiguity codes, or lowercase/'.'/'*' insertions"
        )
    return normalised


def parse_msa(lines: Iterable[str], source: str | Path | None = None) -> list[tuple[str, str]]:
    """Parse FASTA/A2M/A3M text into normalised, equally long alignment rows.

    Lines starting with ``#`` before the first record (A3M headers) and blank lines are skipped.
    A record's sequence may span several lines.

    Args:
        lines: the text, line by line (trailing newlines allowed).
        source: the file name used in error messages.

    Returns:
        ``[(name, row), ...]`` in file order, the query first; ``name`` is the header up to the
        first whitespace; every ``row`` has the query's aligned length.

    Raises:
        InputError: no record, sequence text before the first header, an empty record, a
            character outside the alignment alphabet, or rows of different aligned length
            (message names the file and the 1-based line of the record's header).
    """
    records: list[tuple[str, int, list[str]]] = []
    for line1, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">"):
            name = line[1:].split(maxsplit=1)[0] if line[1:].strip() else ""
            records.append((name, line1, []))
        elif not records:
            if line.startswith("#"):
                continue
            raise InputError("sequence text before the first '>' header", source, line1)
        else:
            records[-1][2].append(line)
    if not records:
        raise InputError(
            "no alignment record (expected FASTA, A2M or A3M with '>' headers)", source
        )

    rows: list[tuple[str, str]] = []
    query_length = None
    for name, header_line1, chunks in records:
        try:
            row = normalise_row("".join(chunks))
        except ValueError as error:
            raise InputError(f"record {name!r}: {error}", source, header_line1) from None
        if not row:
            raise InputError(f"record {name!r} has no aligned columns", source, header_line1)
        if query_length is None:
            query_length = len(row)
        elif len(row) != query_length:
            raise InputError(
                f"record {name!r} has {len(row)} aligned columns after removing insertions, "
                f"the query has {query_length}",
                source,
                header_line1,
            )
        rows.append((name, row))
    return rows


def read_msa(path: str | Path) -> list[tuple[str, str]]:
    """Read an alignment file (FASTA, A2M or A3M; the format need not be named).

    Args:
        path: the alignment; the first record is the query.

    Returns:
        ``[(name, row), ...]``, rows normalised by :func:`normalise_row`, all of one length.

    Raises:
        InputError: the file cannot be read or is not a valid alignment (see :func:`parse_msa`).
    """
    path = Path(path)
    try:
        with path.open(encoding="ascii", errors="strict") as handle:
            return parse_msa(handle, path)
    except UnicodeDecodeError as error:
        raise InputError(f"not an ASCII text file ({error.reason})", path) from None
    except OSError as error:
        raise InputError(f"cannot read alignment: {error.strerror or error}", path) from None

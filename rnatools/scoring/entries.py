"""Parse the INFO entries rnatools writes (SpliceAI-family delta scores, Pangolin scores).

One INFO value holds several entries joined by ``,``; this module turns such a value back into
typed entries, for the exports, the lookup of precomputed scores, the reports and the tests.
It imports nothing heavy (no torch, no numpy): it runs once per record.

Formats (``.`` stands for a missing value):

* ``delta`` (``SpliceAI``, ``OpenSpliceAI``): ``ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|
  DP_DG|DP_DL``, SpliceAI 1.3.1's INFO format (Jaganathan et al. 2019,
  doi:10.1016/j.cell.2018.12.015); delta scores are probabilities in [0, 1], delta positions are
  nt relative to the variant (negative = upstream on the + strand of the genome).
* ``delta_tx`` (``SpliceAI_TX``, ``OpenSpliceAI_TX``): ``ALLELE|SYMBOL|TRANSCRIPT|PRIORITY|DS_AG|
  ...|DP_DL``, PRIORITY one of ``MANE_Select``, ``MANE_Plus_Clinical``, ``canonical``, ``other``.
* ``pangolin`` (``Pangolin``, ``Pangolin_TX``): Pangolin's ``GENE|POS:GAIN|POS:LOSS|Warnings:...``
  (Zeng & Li 2022, doi:10.1186/s13059-022-02664-4), GAIN >= 0 and LOSS <= 0 (changes of
  P(splice)), POS in nt relative to the variant. Several genes of one ALT are joined by ``|`` (as
  Pangolin does), ALT groups by ``,`` in ALT order (the INFO key is ``Number=A``; ``.`` = an
  ALT without scores; ``docs/pangolin-scoring.md``). A group may also lead each gene with its allele
  (``ALLELE|GENE|POS:GAIN|POS:LOSS|Warnings:``) and, for transcript keys, follow the gene with
  ``TRANSCRIPT|PRIORITY``; the number of names before the first ``POS:SCORE`` field tells which
  (1: gene; 2: allele, gene; 3: allele, gene, transcript; 4: allele, gene, transcript,
  priority).
* ``raw`` (``SpliceAI_RAW``, ``OpenSpliceAI_RAW``): REF/ALT probabilities; listed in
  :data:`ENTRY_KEYS` so that callers can recognise the key, not parsed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

ENTRY_KEYS: dict[str, str] = {
    "SpliceAI": "delta",
    "OpenSpliceAI": "delta",
    "SpliceAI_TX": "delta_tx",
    "OpenSpliceAI_TX": "delta_tx",
    "Pangolin": "pangolin",
    "Pangolin_TX": "pangolin",
    "SpliceAI_RAW": "raw",
    "OpenSpliceAI_RAW": "raw",
}
"""INFO key -> entry format: ``"delta"``, ``"delta_tx"``, ``"pangolin"`` or ``"raw"``."""

_DELTA_FIELDS = 10
_DELTA_TX_FIELDS = 12
_MISSING = "."


@dataclass(frozen=True, slots=True)
class DeltaEntry:
    """One allele × gene (× transcript) entry of a SpliceAI-family INFO value.

    Attributes:
        allele: the ALT allele as written.
        gene: gene symbol (or name) of the annotation row.
        scores: ``(DS_AG, DS_AL, DS_DG, DS_DL)``, probabilities in [0, 1]; None where ``.``.
        positions: ``(DP_AG, DP_AL, DP_DG, DP_DL)``, nt relative to the variant; None where ``.``.
        transcript: transcript id (``*_TX`` keys only).
        priority: ``MANE_Select``, ``MANE_Plus_Clinical``, ``canonical`` or ``other``
            (``*_TX`` keys only).
    """

    allele: str
    gene: str
    scores: tuple[float | None, float | None, float | None, float | None]
    positions: tuple[int | None, int | None, int | None, int | None]
    transcript: str | None = None
    priority: str | None = None

    @property
    def max_score(self) -> float | None:
        """The largest of the four delta scores; None when all are ``.``."""
        values = [value for value in self.scores if value is not None]
        return max(values) if values else None


@dataclass(frozen=True, slots=True)
class PangolinEntry:
    """One gene entry of a Pangolin INFO value.

    Attributes:
        allele: the ALT allele when the text or the caller says which; None otherwise.
        gene: gene name or id as written.
        gain_position: nt from the variant of the largest increase of P(splice).
        gain: that increase (>= 0; Pangolin rounds it to 2 decimals).
        loss_position: nt from the variant of the largest decrease.
        loss: that decrease (<= 0).
        warnings: the text after ``Warnings:`` (often empty).
        transcript: transcript id, when the entry names one.
        priority: transcript priority, when the entry names one.
    """

    allele: str | None
    gene: str
    gain_position: int
    gain: float
    loss_position: int
    loss: float
    warnings: str
    transcript: str | None = None
    priority: str | None = None

    @property
    def max_score(self) -> float:
        """``max(|gain|, |loss|)``: the largest absolute change of P(splice)."""
        return max(abs(self.gain), abs(self.loss))


Entry = DeltaEntry | PangolinEntry


def entry_kind(key: str) -> str:
    """The entry format of INFO ``key``: :data:`ENTRY_KEYS`, else judged from the name
    (``Pangolin*`` -> pangolin, ``*_RAW`` -> raw, ``*_TX`` -> delta_tx, other -> delta)."""
    kind = ENTRY_KEYS.get(key)
    if kind is not None:
        return kind
    if key.startswith("Pangolin"):
        return "pangolin"
    if key.endswith("_RAW"):
        return "raw"
    if key.endswith("_TX"):
        return "delta_tx"
    return "delta"


def parse_entries(
    key: str, value: str | Sequence[str] | None, *, alts: Sequence[str] | None = None
) -> list[Entry]:
    """Parse one INFO value of ``key`` into its entries, in the order written.

    Args:
        key: the INFO key (``SpliceAI``, ``SpliceAI_TX``, ``Pangolin``, ...); see
            :func:`entry_kind`.
        value: the INFO value as text (entries joined by ``,``), or the tuple of its
            ``,``-separated parts as pysam returns it; None, ``""`` or ``.`` -> no entries. A
            ``.`` part is an allele without scores (Pangolin's ``Number=A`` groups): no
            entries, but it keeps its place for ``alts``.
        alts: the record's ALT alleles; gives Pangolin groups that do not name their allele the
            allele of their position (group i -> ``alts[i]``; then there must be one group
            per ALT). Ignored by delta formats.

    Returns:
        :class:`DeltaEntry` objects for delta formats, :class:`PangolinEntry` objects for
        Pangolin.

    Raises:
        ValueError: an entry with the wrong number of fields or a field that is not a number
            where one is expected (the message quotes the entry); a ``raw`` key; Pangolin groups
            that are not one per ALT when ``alts`` is given.
    """
    parts = _parts(value)
    if not parts:
        return []
    kind = entry_kind(key)
    if kind in ("delta", "delta_tx"):
        count = _DELTA_FIELDS if kind == "delta" else _DELTA_TX_FIELDS
        return [_parse_delta(part, count, key) for part in parts if part != _MISSING]
    if kind == "pangolin":
        groups = [[] if part == _MISSING else _parse_pangolin(part, key) for part in parts]
        if alts is not None and any(e.allele is None for group in groups for e in group):
            if len(groups) != len(alts):
                raise ValueError(
                    f"{key}: {len(groups)} ALT groups in {','.join(parts)!r} for "
                    f"{len(alts)} ALT alleles ({','.join(alts)})"
                )
            groups = [
                [e if e.allele is not None else replace(e, allele=alt) for e in group]
                for group, alt in zip(groups, alts, strict=True)
            ]
        return [entry for group in groups for entry in group]
    raise ValueError(f"{key}: raw-score entries are not parsed into scores ({parts[0]!r})")


def max_score(
    key: str, value_or_entries: str | Sequence[str] | Iterable[Entry] | None
) -> float | None:
    """The largest score over all entries of one INFO value.

    Delta formats: the largest DS over alleles × genes (× transcripts); Pangolin: the largest
    ``max(|gain|, |loss|)``. None when there is no entry or every entry is ``.``.

    Args:
        key: the INFO key (used only when text is given).
        value_or_entries: the INFO value (text or pysam's tuple) or already parsed entries.

    Raises:
        ValueError: as :func:`parse_entries`.
    """
    if value_or_entries is None or isinstance(value_or_entries, str):
        entries: Iterable[Entry] = parse_entries(key, value_or_entries)
    else:
        items = list(value_or_entries)
        if items and isinstance(items[0], str):
            entries = parse_entries(key, items)  # type: ignore[arg-type]
        else:
            entries = items  # type: ignore[assignment]
    best: float | None = None
    for entry in entries:
        score = entry.max_score
        if score is not None and (best is None or score > best):
            best = score
    return best


def _parts(value: str | Sequence[str] | None) -> list[str]:
    """The ``,``-separated parts of a value (None items, as pysam may give them, become ``.``);
    ``[]`` when the whole value is missing."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else ["." if item is None else item for item in value]
    parts = [part for item in items for part in str(item).split(",")]
    return [] if parts in ([_MISSING], [""]) else parts


def _parse_delta(text: str, count: int, key: str) -> DeltaEntry:
    fields = text.split("|")
    if len(fields) != count:
        raise ValueError(
            f"{key} entry {text!r}: {count} '|'-separated fields expected, got {len(fields)}"
        )
    if count == _DELTA_TX_FIELDS:
        allele, gene, transcript, priority = fields[:4]
        numbers = fields[4:]
    else:
        allele, gene = fields[:2]
        transcript = priority = None
        numbers = fields[2:]
    if not allele or not gene:
        raise ValueError(f"{key} entry {text!r}: empty allele or gene")
    try:
        scores = tuple(None if field == _MISSING else float(field) for field in numbers[:4])
        positions = tuple(None if field == _MISSING else int(field) for field in numbers[4:])
    except ValueError:
        raise ValueError(
            f"{key} entry {text!r}: DS_* must be numbers and DP_* integers (or '.')"
        ) from None
    for score in scores:
        if score is not None and not (-1.0 <= score <= 1.0):  # also rejects nan
            raise ValueError(f"{key} entry {text!r}: delta score {score} outside [-1, 1]")
    return DeltaEntry(allele, gene, scores, positions, transcript, priority)  # type: ignore[arg-type]


def _position_score(field: str) -> tuple[int, float] | None:
    position, colon, score = field.partition(":")
    if not colon:
        return None
    try:
        return int(position), float(score)
    except ValueError:
        return None


def _parse_pangolin(group: str, key: str) -> list[PangolinEntry]:
    fields = group.split("|")
    entries: list[PangolinEntry] = []
    start = 0
    while start < len(fields):
        first = start
        while first < len(fields) and _position_score(fields[first]) is None:
            first += 1
        names = fields[start:first]
        if first + 1 >= len(fields) or not 1 <= len(names) <= 4:
            raise ValueError(
                f"{key} entry {group!r}: expected GENE|POS:GAIN|POS:LOSS|Warnings: per gene"
            )
        gain = _position_score(fields[first])
        loss = _position_score(fields[first + 1])
        if gain is None or loss is None:
            raise ValueError(f"{key} entry {group!r}: POS:GAIN and POS:LOSS expected")
        end = first + 2
        warnings = ""
        if end < len(fields) and fields[end].startswith("Warnings:"):
            warnings = fields[end][len("Warnings:") :]
            end += 1
        entry_allele, transcript, priority = None, None, None
        if len(names) == 1:
            gene = names[0]
        else:
            entry_allele, gene = names[0], names[1]
            transcript = names[2] if len(names) > 2 else None
            priority = names[3] if len(names) > 3 else None
        if not gene or (entry_allele is not None and not entry_allele):
            raise ValueError(f"{key} entry {group!r}: empty allele or gene")
        entries.append(
            PangolinEntry(
                entry_allele,
                gene,
                gain[0],
                gain[1],
                loss[0],
                loss[1],
                warnings,
                transcript,
                priority,
            )
        )
        start = end
    return entries


__all__ = [
    "ENTRY_KEYS",
    "DeltaEntry",
    "Entry",
    "PangolinEntry",
    "entry_kind",
    "max_score",
    "parse_entries",
]

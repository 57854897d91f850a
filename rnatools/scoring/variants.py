"""The variant planner every model's scorer shares: which records can be scored, and why not.

Every variant scorer (SpliceAI-family delta scores, masked-language-model zero-shot scores) runs
the same checks on a VCF record, in the same order, before anything model-specific:

1. the record has an ALT at all (ALT ``.`` → ``symbolic_allele``);
2. the contig is in the FASTA (→ ``contig_missing``, whether or not the annotation has genes
   there: a VCF with other contig names, e.g. RefSeq ``NC_000017.11``, is told apart from one
   outside every gene);
3. REF lies inside the contig and equals the FASTA (→ ``ref_mismatch``), for every record,
   genic or not, so that a VCF of another genome build shows as mismatches;
4. some target (an annotated transcript containing POS, or an explicit strand) exists
   (→ ``intergenic``).

What follows is the scorer's own business (window limits of the model, which ALT alleles it can
score). ALT alleles holding ``. - * < >`` are symbolic and alleles holding any other letter than
A, C, G, T, N (IUPAC ambiguity codes such as ``R`` or ``Y``) are ambiguous: neither is scored,
and a record left with no scorable ALT ends as ``symbolic_allele`` or ``iupac_allele``. The
scorers translate :class:`PlanSkip` into their own skip reasons (SpliceBERT's carry an ``lm_``
prefix). Specified in ``docs/spliceai-scoring.md`` ("Skip reasons").

Coordinates: VCF ``POS`` is 1-based (``pos1``); everything else is 0-based half-open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

Target = TypeVar("Target")

_INVALID_ALLELE_CHARACTERS = frozenset(".-*<>")
_NUCLEOTIDE_LETTERS = frozenset("ACGTNacgtn")


class ReferenceSource(Protocol):
    """What the planner needs of a reference: :class:`rnatools.io.fasta.Fasta` is one."""

    def has(self, chrom: str) -> bool: ...

    def length(self, chrom: str) -> int: ...

    def fetch(self, chrom: str, start: int, end: int) -> str: ...


@dataclass(frozen=True, slots=True)
class Variant:
    """One VCF record as the scorers need it (``alts`` None when ALT is ``.``).

    Attributes:
        chrom: contig as written in the VCF.
        pos1: 1-based VCF ``POS``.
        ref: REF allele.
        alts: ALT alleles as written, or None.
    """

    chrom: str
    pos1: int
    ref: str
    alts: tuple[str, ...] | None


class PlanSkip(str, Enum):
    """Why the shared checks stop a record (each scorer maps these to its own reasons)."""

    SYMBOLIC_ALLELE = "symbolic_allele"
    INTERGENIC = "intergenic"
    CONTIG_MISSING = "contig_missing"
    REF_MISMATCH = "ref_mismatch"


@dataclass(frozen=True, slots=True)
class PlannedVariant(Generic[Target]):
    """A record that passed the shared checks.

    Attributes:
        pos0: 0-based position of the first REF base.
        ref: REF, upper case (equal to the FASTA there).
        alts: the ALT alleles as written (scorable or not: the scorer decides).
        targets: what to score against (genes, or strands), in annotation order.
        contig_length: nt in the contig.
    """

    pos0: int
    ref: str
    alts: tuple[str, ...]
    targets: Sequence[Target]
    contig_length: int


def is_scorable_allele(alt: str) -> bool:
    """False for alleles SpliceAI drops: any of ``. - * < >`` in the ALT string."""
    return not (_INVALID_ALLELE_CHARACTERS & set(alt))


def is_ambiguous_allele(alt: str) -> bool:
    """True for an ALT (not symbolic) holding a letter other than A, C, G, T, N: an IUPAC code
    (``R``, ``Y``, …) that names no single base, so no window can be built for it."""
    return is_scorable_allele(alt) and not set(alt) <= _NUCLEOTIDE_LETTERS


def plan_variant(
    variant: Variant, reference: ReferenceSource, targets: Sequence[Target]
) -> PlannedVariant[Target] | PlanSkip:
    """Run the shared checks (module docstring) on one record.

    Args:
        variant: the record.
        reference: the FASTA.
        targets: what the record would be scored against (e.g. the genes containing POS).

    Returns:
        The :class:`PlannedVariant`, or the :class:`PlanSkip` of the first check that failed.
    """
    if not variant.alts:
        return PlanSkip.SYMBOLIC_ALLELE
    if not reference.has(variant.chrom):
        return PlanSkip.CONTIG_MISSING
    length = reference.length(variant.chrom)
    pos0 = variant.pos1 - 1
    ref = variant.ref.upper()
    if pos0 < 0 or pos0 + len(ref) > length:
        return PlanSkip.REF_MISMATCH
    if reference.fetch(variant.chrom, pos0, pos0 + len(ref)) != ref:
        return PlanSkip.REF_MISMATCH
    if not targets:
        return PlanSkip.INTERGENIC
    return PlannedVariant(pos0, ref, tuple(variant.alts), targets, length)


# ---------------------------------------------------------------------------------------------
# Left-alignment and trimming (variant normalisation)

_LEFT_FETCH = 64  # nt read from the reference at a time while shifting left


def normalize_alleles(
    reference: ReferenceSource, chrom: str, pos0: int, alleles: Sequence[str]
) -> tuple[int, tuple[str, ...]]:
    """Left-align and trim alleles against the reference (the vt / ``bcftools norm`` rule).

    The algorithm of Tan, Abecasis and Kang, *Unified representation of genetic variants*,
    Bioinformatics 31:2202 (2015), doi:10.1093/bioinformatics/btv112 (Algorithm 1), on the
    alleles of one record (REF first):

    1. repeat until nothing changes: if every allele ends with the same nucleotide, drop it
       from every allele; then, if an allele is empty, prepend the reference base before the
       alleles to every allele (the position moves one nt left);
    2. while every allele is at least 2 nt long and all start with the same nucleotide, drop it
       from every allele (the position moves one nt right).

    At the contig start (``pos0 == 0``) a last base that would leave an allele empty is kept,
    since there is no base to prepend. Alleles compare case-insensitively and come back upper
    case. A record with fewer than two distinct alleles (``REF == ALT``) is returned unchanged
    (upper case): it has no normal form.

    Args:
        reference: the FASTA (``fetch(chrom, start0, end0)``).
        chrom: contig as the reference knows it.
        pos0: 0-based position of the first base of the alleles.
        alleles: REF then the ALT alleles, each A/C/G/T/N letters (no symbolic alleles).

    Returns:
        ``(pos0, alleles)``: the normalised 0-based position and alleles (same order).
    """
    current = [allele.upper() for allele in alleles]
    if len(set(current)) < 2:
        return pos0, tuple(current)
    left = ""  # reference bases just before pos0, fetched in blocks
    changed = True
    while changed:
        changed = False
        if (
            all(current)
            and len({allele[-1] for allele in current}) == 1
            and not (pos0 == 0 and any(len(allele) == 1 for allele in current))
        ):
            current = [allele[:-1] for allele in current]
            changed = True
        if not all(current):
            if not left:
                start0 = max(0, pos0 - _LEFT_FETCH)
                left = reference.fetch(chrom, start0, pos0).upper()
            base, left = left[-1], left[:-1]
            current = [base + allele for allele in current]
            pos0 -= 1
            changed = True
    while all(len(allele) >= 2 for allele in current) and len({a[0] for a in current}) == 1:
        current = [allele[1:] for allele in current]
        pos0 += 1
    return pos0, tuple(current)


def is_normalized(
    reference: ReferenceSource, chrom: str, pos0: int, alleles: Sequence[str]
) -> bool:
    """Whether the alleles (REF first) at ``pos0`` are left-aligned and parsimonious, i.e.
    :func:`normalize_alleles` leaves position and alleles as they are (case-insensitively).
    SNVs always are; checking a normalised indel reads no reference base."""
    new_pos0, normal = normalize_alleles(reference, chrom, pos0, alleles)
    return new_pos0 == pos0 and list(normal) == [allele.upper() for allele in alleles]


def prepare_then_run(scorer: Any, variants: Sequence[Variant]) -> Callable[[], list]:
    """The annotate protocol in two halves: a scorer's ``prepare(variants)`` (planning, every
    FASTA read, encoding) done now, and its ``run`` of that batch (the model and one outcome
    per variant) returned, to be called later, possibly on another thread. A scorer without
    ``prepare`` does all of its work in the returned call (``annotate(variants)``)."""
    prepare = getattr(scorer, "prepare", None)
    if prepare is None:
        return lambda: scorer.annotate(variants)
    batch = prepare(variants)
    return lambda: scorer.run(batch)


__all__ = [
    "PlanSkip",
    "PlannedVariant",
    "ReferenceSource",
    "Variant",
    "is_ambiguous_allele",
    "is_normalized",
    "is_scorable_allele",
    "normalize_alleles",
    "plan_variant",
    "prepare_then_run",
]

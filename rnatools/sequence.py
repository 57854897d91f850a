"""Nucleotide sequences as arrays: one-hot encoding, (reverse) complement, DNA/RNA letters.

Every letter other than A, C, G, T (either case; U counts as T) is encoded as N, an all-zero row.
SpliceAI 1.3.1 instead maps other IUPAC letters through a modulo quirk (R→C, Y→T, …); rnatools
deliberately does not reproduce that (see ``docs``/README "Differences from SpliceAI").
"""

from __future__ import annotations

import numpy as np

ALPHABET = "ACGT"

# Byte value → channel index (0..3) or 4 for "N / anything else".
_INDEX = np.full(256, 4, dtype=np.uint8)
for _i, _letters in enumerate(("Aa", "Cc", "Gg", "TtUu")):
    for _c in _letters:
        _INDEX[ord(_c)] = _i

# Row 4 is the all-zero N row.
_ONE_HOT = np.zeros((5, 4), dtype=np.float32)
_ONE_HOT[np.arange(4), np.arange(4)] = 1.0

COMPLEMENT = bytes.maketrans(
    b"ACGTUNacgtunRYKMSWBDHVrykmswbdhv", b"TGCAANtgcaanYRMKSWVHDByrmkswvhdb"
)
"""The one complement table of rnatools (``bytes.translate``): A<->T, C<->G, U->A, N->N, IUPAC
ambiguity letters to their complements, case kept; every other byte unchanged."""


def encode_indices(sequence: str) -> np.ndarray:
    """Channel indices of a sequence.

    Args:
        sequence: DNA or RNA letters, any case.

    Returns:
        ``(length,)`` uint8 array: 0=A, 1=C, 2=G, 3=T/U, 4=N or any other letter.
    """
    return _INDEX[np.frombuffer(sequence.encode("ascii", "replace"), dtype=np.uint8)]


def one_hot(sequence: str, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """One-hot encode a sequence, channels A, C, G, T; N and other letters are all-zero rows.

    Args:
        sequence: DNA or RNA letters, any case (soft-masked lowercase counts as bases).
        dtype: dtype of the result.

    Returns:
        ``(length, 4)`` array.
    """
    return _ONE_HOT.astype(dtype, copy=False)[encode_indices(sequence)]


def one_hot_batch(sequences: list[str], dtype: np.dtype | type = np.float32) -> np.ndarray:
    """One-hot encode sequences of equal length.

    Returns:
        ``(batch, length, 4)`` array.

    Raises:
        ValueError: the sequences differ in length.
    """
    if len({len(s) for s in sequences}) > 1:
        raise ValueError("one_hot_batch needs sequences of equal length")
    indices = (
        np.stack([encode_indices(s) for s in sequences])
        if sequences
        else np.zeros((0, 0), np.uint8)
    )
    return _ONE_HOT.astype(dtype, copy=False)[indices]


def complement(sequence: str) -> str:
    """Complement of a DNA sequence, not reversed (a single base: its complement); case and IUPAC
    ambiguity letters are kept (U→A), other characters are unchanged (:data:`COMPLEMENT`).

    Raises:
        UnicodeEncodeError: a non-ASCII character.
    """
    return sequence.encode("ascii").translate(COMPLEMENT).decode("ascii")


def reverse_complement(sequence: str) -> str:
    """Reverse complement of a DNA sequence; case and IUPAC ambiguity letters are kept (U→A).

    Raises:
        UnicodeEncodeError: a non-ASCII character.
    """
    return sequence.encode("ascii").translate(COMPLEMENT)[::-1].decode("ascii")


def to_rna(sequence: str) -> str:
    """DNA letters to RNA letters (T→U, t→u)."""
    return sequence.replace("T", "U").replace("t", "u")


def to_dna(sequence: str) -> str:
    """RNA letters to DNA letters (U→T, u→t)."""
    return sequence.replace("U", "T").replace("u", "t")

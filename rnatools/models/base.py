"""The interface every splice-site model implements (SpliceAI, and the SpliceAI-family peers).

A splice-site model maps one-hot pre-mRNA to per-nucleotide probabilities. The scorers
(:mod:`rnatools.scoring.splice_sites`, :mod:`rnatools.scoring.delta`) know a model only through
this interface: how much context it needs per side, what its output channels are, which of them
are the acceptor and donor probabilities, and, optionally, a faster way to score many
single-nucleotide variants of one reference window. Everything else (layers, weight files,
constants such as the flank) stays inside the model's own module. ``docs/architecture.md``
("How to add a model") walks through a new adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np
from torch import Tensor

if TYPE_CHECKING:  # pragma: no cover
    from rnatools.engine import Engine


class IncrementalSNV(Protocol):
    """Optional capability: the REF track of a window and the ALT tracks of many SNVs in it.

    A model offers it when it can compute an SNV's ALT outputs from the REF activations more
    cheaply than a full forward pass, with the same numbers (to the convolution library's
    summation order).
    """

    def run(
        self,
        engine: Engine,
        sequence: str,
        centers: Sequence[int],
        alt_bases: Sequence[str],
        distance: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Model-orientation REF track of ``sequence`` and ALT tracks of its SNVs.

        Args:
            engine: runs the work (device, precision, inference mode).
            sequence: ``length + 2·context`` nt, already in the model's orientation (minus-strand
                genes reverse-complemented by the caller).
            centers: input indices of the SNVs; each ``center ± distance`` must lie within the
                ``length`` output positions ``[context, context + length)``.
            alt_bases: the ALT base of each SNV, in the orientation of ``sequence``.
            distance: ALT tracks cover ``center ± distance`` (nt).

        Returns:
            ``(length, channels)`` float32 REF probabilities and ``(n, 2·distance + 1,
            channels)`` float32 ALT probabilities.

        Raises:
            ValueError: an SNV whose outputs do not all lie inside the window's outputs.
        """
        ...  # pragma: no cover


class VariantCone(NamedTuple):
    """One variant of a window for :meth:`IncrementalVariants.run_variants` (input indices,
    0-based half-open, in the orientation of the window's sequence).

    Attributes:
        start: input index of the first replaced REF base.
        ref_length: REF bases replaced (``m``; 1 for an SNV, 0 is allowed).
        alt: the ALT bases put in their place (at least one).
        out_start, out_end: the ALT outputs wanted, as indices into the ALT sequence
            ``sequence[:start] + alt + sequence[start + ref_length:]`` (so a position right of
            the change is ``len(alt) − ref_length`` larger than its REF index).
    """

    start: int
    ref_length: int
    alt: str
    out_start: int
    out_end: int


class IncrementalVariants(IncrementalSNV, Protocol):
    """Optional extension of :class:`IncrementalSNV`: substitutions, deletions, insertions and
    delins of one window from its REF activations.

    A scorer checks for it with ``getattr(model.incremental, "run_windows", None)`` (or
    ``run_variants``) and runs whole ALT windows for indels and MNVs when it is missing.
    """

    def run_variants(
        self, engine: Engine, sequence: str, variants: Sequence[VariantCone]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Model-orientation REF track of ``sequence`` and the ALT outputs of its variants.

        Args:
            engine: runs the work (device, precision, inference mode).
            sequence: ``length + 2·context`` nt, in the model's orientation.
            variants: each change and the ALT output range wanted (:class:`VariantCone`); the
                range must lie in the ALT sequence's outputs ``[context, length + k +
                context)`` (``k = len(alt) − ref_length``) and within ``context`` nt of the
                change.

        Returns:
            ``(length, channels)`` float32 REF probabilities and, per variant in order,
            ``(out_end − out_start, channels)`` float32 ALT probabilities: the numbers a whole
            ALT window run through ``forward`` gives at those outputs (to the convolution
            library's summation order).

        Raises:
            ValueError: a variant that does not fit (see the model's implementation).
        """
        ...  # pragma: no cover

    def run_windows(
        self, engine: Engine, windows: Sequence[tuple[str | np.ndarray, Sequence[VariantCone]]]
    ) -> list[tuple[np.ndarray, list[np.ndarray]]]:
        """:meth:`run_variants` for many windows at once (the chunks of a block of records, of
        several genes), batching their REF passes and their variants' work across windows;
        the same numbers as one :meth:`run_variants` call per window (to the convolution
        library's summation order).

        Args:
            engine: runs the work.
            windows: ``(sequence, variants)`` pairs, as for :meth:`run_variants`; a sequence
                may also be given already one-hot encoded, ``(length, 4)`` float32
                (:func:`rnatools.sequence.one_hot`), so that a caller can encode the next
                block while this one runs.

        Returns:
            one :meth:`run_variants` result per window, in order.

        Raises:
            ValueError: a variant that does not fit its window.
        """
        ...  # pragma: no cover


class SpliceModel(ABC):
    """A splice-site model behind one small interface.

    Attributes:
        name: registry name (``spliceai``).
        context: nt of context the model needs on each side of an output position; an input
            of ``length + 2·context`` nt gives ``length`` outputs.
        channels: names of the output channels, in order (e.g. ``("neither", "acceptor",
            "donor")``).
        acceptor_channel: index of the acceptor probability, or ``None``.
        donor_channel: index of the donor probability, or ``None``.
        incremental: the :class:`IncrementalSNV` capability, or ``None`` (scorers then run
            whole ALT windows).
    """

    name: str
    context: int
    channels: tuple[str, ...]
    acceptor_channel: int | None = None
    donor_channel: int | None = None
    incremental: IncrementalSNV | None = None

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor:
        """``(batch, length + 2·context, 4)`` one-hot float (A, C, G, T; N = zero row), on the
        model's device → ``(batch, length, len(channels))`` probabilities."""

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    @property
    def splice_site_channels(self) -> tuple[int, int]:
        """``(acceptor_channel, donor_channel)``.

        Raises:
            ValueError: the model does not give separate acceptor and donor probabilities.
        """
        if self.acceptor_channel is None or self.donor_channel is None:
            raise ValueError(f"{self.name} has no separate acceptor and donor channels")
        return self.acceptor_channel, self.donor_channel


__all__ = ["IncrementalSNV", "IncrementalVariants", "SpliceModel", "VariantCone"]

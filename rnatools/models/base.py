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
from typing import TYPE_CHECKING, Protocol

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
        self, engine: Engine, sequence: str, centers: Sequence[int], alt_bases: Sequence[str],
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


__all__ = ["IncrementalSNV", "SpliceModel"]

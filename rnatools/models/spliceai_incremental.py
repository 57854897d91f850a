"""SpliceAI's incremental-SNV capability (:class:`SpliceAIIncremental`).

The computation is the generic one of :mod:`rnatools.models.incremental` (every residual dilated
CNN ensemble shares it); this subclass only gives SpliceAI's capability its own class, so that it
can be told apart from (and patched independently of) its peers'.
"""

from __future__ import annotations

from rnatools.models.incremental import DilatedIncremental


class SpliceAIIncremental(DilatedIncremental):
    """REF track of a window plus ALT tracks of SNVs inside it, for a SpliceAI ensemble.

    ``SpliceAIIncremental(lambda: ensemble, snv_batch=64)``; see
    :class:`~rnatools.models.incremental.DilatedIncremental`. ``run`` returns ``(length, 3)`` REF
    and ``(n, 2·distance + 1, 3)`` ALT probabilities of SNVs, ``run_variants`` the REF track and
    one ALT track per substitution, deletion, insertion or delins (mean of the networks, summed
    in network order).
    """


__all__ = ["SpliceAIIncremental"]

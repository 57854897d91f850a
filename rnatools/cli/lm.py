"""``rnatools embed``, ``mlm`` and ``ism``: the masked language models (SpliceBERT, RNABERT,
RNA-MSM). Each subcommand lives in its own module; this one registers the three."""

from __future__ import annotations

import typer

from rnatools.cli import embed, ism, mlm


def register(app: typer.Typer) -> None:
    """Add ``embed``, ``mlm`` and ``ism`` to ``app``, in that order."""
    embed.register(app)
    mlm.register(app)
    ism.register(app)

"""rnatools predict: per-nucleotide splice-site probabilities."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's subcommand(s) to ``app``."""

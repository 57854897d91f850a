"""Command-line layer: the only part of rnatools that imports typer and rich."""

"""The subcommand modules, in the order ``rnatools --help`` lists them."""

from __future__ import annotations

import importlib
from types import ModuleType

_MODULES = [
    "predict",  # rnatools predict
    "annotate",  # rnatools annotate
    "spliceai_cmd",  # rnatools spliceai (drop-in), rnatools annotation build
    "pangolin_cmd",  # rnatools pangolin (drop-in)
    "windows",  # rnatools windows
    "lm",  # rnatools embed, rnatools mlm, rnatools ism
    "models_cmd",  # rnatools models
    "merge",  # rnatools merge (joins --shard outputs)
    "export",  # rnatools export (VEP, Exomiser, TSV)
    "score",  # rnatools score (single variants)
    "plot",  # rnatools plot variant, rnatools plot region
    "report",  # rnatools report (HTML)
]


def modules() -> list[ModuleType]:
    return [importlib.import_module(f"rnatools.cli.{name}") for name in _MODULES]

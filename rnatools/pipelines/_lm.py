"""What the language-model pipelines (``embed``, ``mlm``, ``ism``) share: loading the model
through the registry, reading FASTA records, taking a shard of them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rnatools.errors import InputError, UsageError
from rnatools.sharding import parse_shard, shard_range

log = logging.getLogger("rnatools.lm")

Record = TypeVar("Record")


@dataclass(frozen=True, kw_only=True)
class LanguageModelSettings:
    """What every language-model pipeline needs to load its model (fields by keyword).

    Attributes:
        model: language model name (a masked language model of the registry).
        weights: weights folder or file; ``None`` looks where the registry says.
        device, precision, threads: the engine (:class:`rnatools.engine.Engine`).
    """

    model: str
    weights: Path | None = None
    device: str = "auto"
    precision: str = "fp32"
    threads: int = 0


def load_language_model(settings: LanguageModelSettings, *, pad_to_max: bool = False):
    """The language model of ``settings`` on an engine built from its device, precision, threads.

    Raises:
        UsageError: unknown model (parameter ``model``), ``pad_to_max`` for a model other than
            RNABERT (parameter ``pad_to_max``), a device that does not exist here (``device``),
            fp16 on the CPU (``precision``).
        MissingWeightsError: no weights found (parameter ``weights``).
    """
    from rnatools.engine import Engine
    from rnatools.models.registry import get_model_info, load_model

    model = settings.model
    get_model_info(model, kind="mlm")
    if pad_to_max and model != "rnabert":
        raise UsageError(f"only RNABERT takes it, not {model}", parameter="pad_to_max")
    options = {"pad_to_max": True} if pad_to_max else {}
    engine = Engine(settings.device, settings.precision, settings.threads)
    lm = load_model(model, settings.weights, engine=engine, **options)
    log.info("%s on %s (%s, max %d nt)", model, engine.device, engine.precision, lm.max_length)
    return lm


def read_sequences(path: str | Path) -> list[tuple[str, str]]:
    """``(name, SEQUENCE)`` records of a small FASTA (plain or gzip).

    Raises:
        InputError: no record, a name given twice, a record without sequence.
    """
    from rnatools.io.fasta import read_fasta_records

    records = read_fasta_records(path)
    if not records:
        raise InputError("no FASTA record", path)
    seen: set[str] = set()
    for name, sequence in records:
        if name in seen:
            raise InputError(f"record name {name!r} appears twice", path)
        if not sequence:
            raise InputError(f"record {name!r} has no sequence", path)
        seen.add(name)
    return records


def shard_records(records: Sequence[Record], shard: str | None) -> tuple[list[Record], int]:
    """Shard ``I/N``'s contiguous part of ``records`` (:func:`rnatools.sharding.shard_range`)
    and the index of its first record in the whole list; all records when ``shard`` is None.

    Raises:
        UsageError: ``shard`` not of the form ``I/N`` with ``1 <= I <= N``.
    """
    part = shard_range(len(records), parse_shard(shard))
    if shard is not None:
        log.info("shard %s: records %d-%d of %d", shard, part.start + 1, part.stop, len(records))
    return list(records[part.start : part.stop]), part.start

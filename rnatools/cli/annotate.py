"""rnatools annotate / spliceai / annotation build: SpliceAI delta scores for VCFs."""

from __future__ import annotations

import logging
import time
from collections import Counter
from contextlib import ExitStack
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.console import progress_bar, stderr
from rnatools.cli.options import (
    BatchSizeOption,
    DeviceOption,
    PrecisionChoice,
    PrecisionOption,
    RegionsFileOption,
    RegionsOption,
    ShardOption,
    ThreadsOption,
    WeightsOption,
)
from rnatools.errors import InputError, UsageError

log = logging.getLogger("rnatools.annotate")

_HELP = (
    "SpliceAI delta scores for every record of a VCF/BCF, number for number with SpliceAI 1.3.1 "
    "(INFO key SpliceAI: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL). Records "
    "stream through in input order; every record is written, annotated or not. Needs the "
    "official weights: pip install 'rnatools[spliceai]'. With --model splicebert (or "
    "spliceai,splicebert) each SNV also gets SpliceBERT zero-shot scores per overlapping gene "
    "(INFO SpliceBERT: ALLELE|SYMBOL|KL_CONTEXT|DELTA_LOGP, nats, 4 decimals; Chen et al. 2024, "
    "doi:10.1093/bib/bbae163) from a 510-nt window on the gene's strand; indels and MNVs get "
    "'.' (the score is defined for SNVs only)."
)


class IndexChoice(str, Enum):
    tbi = "tbi"
    csi = "csi"


class LMModelChoice(str, Enum):
    splicebert = "splicebert"
    splicebert_510 = "splicebert-510"
    splicebert_human_510 = "splicebert-human-510"


class LMStrandChoice(str, Enum):
    plus = "+"
    minus = "-"


ANNOTATE_MODELS = ("spliceai", "splicebert")

# Skips that mean "nothing to score here" rather than "something is wrong": --strict lets them be.
_NOT_STRICT = frozenset({"intergenic", "lm_intergenic", "lm_not_snv"})


def parse_models(text: str) -> tuple[str, ...]:
    """``"spliceai,splicebert"`` → ``("spliceai", "splicebert")`` (order kept, duplicates dropped).

    Raises:
        UsageError: an empty list or a name other than spliceai and splicebert.
    """
    names: list[str] = []
    for name in (part.strip().lower() for part in text.split(",")):
        if name not in ANNOTATE_MODELS:
            raise UsageError(
                f"--model {text!r}: expected a comma-separated list of {', '.join(ANNOTATE_MODELS)}"
            )
        if name not in names:
            names.append(name)
    return tuple(names)


def _write_skip_row(handle, record, reason: str) -> None:
    if handle is None:
        return
    chrom, pos, ident, ref, alts = record
    handle.write(f"{chrom}\t{pos}\t{ident}\t{ref}\t{alts}\t{reason}\n")


def run_annotate(
    input_path: str,
    output_path: str,
    fasta_path: Path,
    annotation: str,
    distance: int,
    mask: bool,
    *,
    index: str | None = None,
    pad_contig_ends: bool = False,
    skip_report: Path | None = None,
    strict: bool = False,
    device: str = "auto",
    batch_size: int = 32,
    threads: int = 0,
    precision: str = "fp32",
    weights: Path | None = None,
    block_size: int = 512,
    full_windows: bool = False,
    regions: list[str] | None = None,
    regions_file: Path | None = None,
    shard: str | None = None,
    models: tuple[str, ...] = ("spliceai",),
    lm_model: str = "splicebert-510",
    lm_weights: Path | None = None,
    lm_window: int = 510,
    lm_strand: str | None = None,
) -> Counter:
    """Annotate ``input_path`` into ``output_path``; returns counts of skipped records by reason.

    ``models`` picks the INFO keys: ``spliceai`` (SpliceAI delta scores) and/or ``splicebert``
    (zero-shot scores of :mod:`rnatools.scoring.lm_variants`, with ``lm_model`` loaded from
    ``lm_weights`` or ``$RNATOOLS_SPLICEBERT_WEIGHTS``, ``lm_window``-nt windows and
    ``lm_strand`` for variants outside every transcript).

    Raises:
        UsageError: ``distance`` outside 0-4999, an index for an output that cannot carry one.
        InputError: unreadable inputs; with ``strict``, the first record skipped for a reason
            other than ``intergenic``, ``lm_intergenic`` or ``lm_not_snv``.
        MissingWeightsError: no SpliceAI or SpliceBERT weights (or tables for grch37/grch38).
    """
    from rnatools.io.atomic import atomic_output
    from rnatools.io.fasta import Fasta
    from rnatools.io.gene_table import load_gene_table
    from rnatools.io.vcf import (
        END_INFO_HEADER,
        SPLICEAI_INFO_HEADER,
        MalformedRecord,
        VcfWriter,
        add_header_line,
        check_index,
        open_vcf,
    )
    from rnatools.scoring.delta import (
        MAX_DISTANCE_LIMIT,
        DeltaOptions,
        DeltaScorer,
        SkipReason,
        Variant,
    )
    from rnatools.scoring.incremental import LazyIncrementalRunner
    from rnatools.scoring.lm_variants import LM_INFO_KEY

    if not 0 <= distance <= MAX_DISTANCE_LIMIT:
        raise UsageError(f"-d/--distance must be in 0-{MAX_DISTANCE_LIMIT}, got {distance}")
    check_index(output_path, index)  # type: ignore[arg-type]
    if not models or any(name not in ANNOTATE_MODELS for name in models):
        raise UsageError(f"models must be some of {', '.join(ANNOTATE_MODELS)}, got {models}")
    lm_options = None
    if "splicebert" in models:
        from rnatools.scoring.lm_variants import LMVariantOptions

        lm_options = LMVariantOptions(
            window=lm_window, unannotated_strand=lm_strand, batch_size=batch_size
        )
    genes = load_gene_table(annotation)
    vcf = open_vcf(input_path)
    counts: Counter = Counter()
    started = time.perf_counter()
    records_seen = 0
    with ExitStack() as stack:
        stack.callback(vcf.close)
        fasta = stack.enter_context(Fasta(fasta_path))
        from rnatools.models.spliceai import load_spliceai
        from rnatools.predict import run_model
        from rnatools.runtime import resolve_device, set_threads

        set_threads(threads)
        torch_device = resolve_device(device)
        loaded: list = []

        def model():
            # Loaded on first use: a VCF whose records are all skipped needs no weights.
            if not loaded:
                loaded.append(load_spliceai(weights, torch_device))
            return loaded[0]

        def predict(x):
            return run_model(model(), x, torch_device, precision)  # type: ignore[arg-type]

        incremental = None
        if not full_windows:
            incremental = LazyIncrementalRunner(model, torch_device, precision)

        scorer = None
        if "spliceai" in models:
            scorer = DeltaScorer(
                predict,
                fasta,
                genes,
                DeltaOptions(distance, mask, pad_contig_ends),
                batch_size=batch_size,
                max_batch_nt=batch_size * 12_000,
                incremental=incremental,  # type: ignore[arg-type]
            )
            add_header_line(vcf.header, SPLICEAI_INFO_HEADER)
        lm_scorer = None
        if lm_options is not None:
            from rnatools.models.lm import load_lm
            from rnatools.scoring.lm_variants import LMVariantScorer, lm_info_header

            lm_loaded: list = []

            def language_model():
                # Loaded on first use, like SpliceAI: a block without SNVs needs no weights.
                if not lm_loaded:
                    lm_loaded.append(
                        load_lm(lm_model, lm_weights, device=torch_device, precision=precision)
                    )
                return lm_loaded[0]

            lm_scorer = LMVariantScorer(language_model, fasta, genes, lm_options)
            add_header_line(vcf.header, lm_info_header(lm_model, lm_options))
        report = None
        if skip_report is not None:
            report = stack.enter_context(atomic_output(skip_report))
            report.write("#CHROM\tPOS\tID\tREF\tALT\tREASON\n")
        writers: list[VcfWriter] = []

        def writer_for(block: list) -> VcfWriter:
            # Opened with the first block: htslib adds END to symbolic-allele records on output
            # and fails on a header without it, so a first block holding one gets the END line.
            if not writers:
                symbolic = any(
                    not isinstance(record, MalformedRecord)
                    and any(alt.startswith("<") for alt in record.alts or ())
                    for record in block
                )
                if symbolic:
                    add_header_line(vcf.header, END_INFO_HEADER)
                writer = VcfWriter(output_path, vcf.header, index)  # type: ignore[arg-type]
                writers.append(stack.enter_context(writer))
            return writers[0]

        def flush(block: list) -> None:
            records = [record for record in block if not isinstance(record, MalformedRecord)]
            variants = [
                Variant(record.chrom, record.pos, record.ref or "", record.alts)
                for record in records
            ]
            annotations = iter(
                scorer.annotate(variants) if scorer is not None else [None] * len(variants)
            )
            lm_annotations = iter(
                lm_scorer.annotate(variants) if lm_scorer is not None else [None] * len(variants)
            )
            writer = writer_for(block)
            for record in block:
                if isinstance(record, MalformedRecord):
                    counts[SkipReason.MALFORMED.value] += 1
                    log.warning(
                        "record %d could not be parsed and is left out (%s)",
                        record.number,
                        record.message,
                    )
                    _write_skip_row(
                        report,
                        (".", ".", f"record{record.number}", ".", "."),
                        SkipReason.MALFORMED.value,
                    )
                    if strict:
                        raise InputError(f"record {record.number} is malformed", input_path)
                    continue
                result = next(annotations)
                lm_result = next(lm_annotations)
                if result is not None and result.entries:
                    record.info["SpliceAI"] = tuple(result.entries)
                if lm_result is not None and lm_result.entries:
                    record.info[LM_INFO_KEY] = tuple(lm_result.entries)
                for skip in (
                    result.skip if result is not None else None,
                    lm_result.skip if lm_result is not None else None,
                ):
                    if skip is None:
                        continue
                    reason = skip.value
                    counts[reason] += 1
                    alts = ",".join(record.alts) if record.alts else "."
                    _write_skip_row(
                        report,
                        (record.chrom, record.pos, record.id or ".", record.ref, alts),
                        reason,
                    )
                    if strict and reason not in _NOT_STRICT:
                        raise InputError(
                            f"{record.chrom}:{record.pos} {record.ref}>{alts}: skipped ({reason}); "
                            "--strict makes every skip except intergenic, lm_intergenic and "
                            "lm_not_snv an error",
                            input_path,
                        )
                try:
                    writer.write(record)
                except OSError as exc:  # a symbolic allele after a first block without END
                    counts[SkipReason.MALFORMED.value] += 1
                    log.warning(
                        "%s:%s could not be written and is left out (%s)",
                        record.chrom,
                        record.pos,
                        exc,
                    )

        block: list = []
        from rnatools.sharding import parse_regions, parse_shard, select_records

        selected = select_records(
            vcf, input_path, regions=parse_regions(regions, regions_file), shard=parse_shard(shard)
        )
        with progress_bar("annotating", total=None, unit="records") as progress:
            for record in selected:
                block.append(record)
                records_seen += 1
                if len(block) >= block_size:
                    flush(block)
                    progress.advance(len(block))
                    block = []
            if block or not writers:
                flush(block)
                progress.advance(len(block))
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{reason} {count}" for reason, count in sorted(counts.items())) or "none"
    work = []
    if scorer is not None:
        work.append(f"{scorer.model_windows} model windows")
    if lm_scorer is not None:
        work.append(f"{lm_scorer.snvs_scored} SpliceBERT SNV scores")
    stderr.print(
        f"rnatools annotate: {records_seen} records in {elapsed:.1f} s "
        f"({'; '.join(work)}); not scored: {summary}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return counts


def register(app: typer.Typer) -> None:
    """Add ``annotate``, the drop-in ``spliceai`` and the ``annotation`` group to ``app``."""

    @app.command("annotate", help=_HELP)
    def annotate(
        fasta: Annotated[
            Path,
            typer.Option("--fasta", "-f", help="Reference FASTA, plain or bgzip (indexed)."),
        ],
        annotation: Annotated[
            str,
            typer.Option(
                "--annotation",
                "-a",
                help="grch37 or grch38 (tables of the installed spliceai package), a table in "
                "that format, or a GTF/GFF3 (gzip ok; one canonical transcript per gene).",
            ),
        ],
        input_path: Annotated[
            str, typer.Option("--input", "-i", help="VCF/BCF to annotate (- = stdin).")
        ] = "-",
        output_path: Annotated[
            str,
            typer.Option(
                "--output",
                "-o",
                help="Output; type from the extension: .vcf, .vcf.gz (bgzip), .bcf; - = stdout.",
            ),
        ] = "-",
        distance: Annotated[
            int,
            typer.Option(
                "--distance", "-d", min=0, max=4999, help="Score positions within D nt of POS."
            ),
        ] = 50,
        mask: Annotated[
            bool,
            typer.Option(
                "--mask",
                help="SpliceAI -M 1: zero gains of annotated sites and losses of unannotated ones.",
            ),
        ] = False,
        index: Annotated[
            IndexChoice | None,
            typer.Option("--index", help="Index a .vcf.gz (tbi or csi) or .bcf (csi) output."),
        ] = None,
        pad_contig_ends: Annotated[
            bool,
            typer.Option(
                "--pad-contig-ends",
                help="Score variants within 5,000+D nt of a contig end by padding with N "
                "(SpliceAI 1.3.1 skips them).",
            ),
        ] = False,
        skip_report: Annotated[
            Path | None,
            typer.Option(
                "--skip-report",
                help="TSV with one row per record left without scores and the reason "
                "(intergenic, contig_missing, ref_mismatch, near_contig_end, ref_too_long, "
                "symbolic_allele, mnv, malformed; SpliceBERT: lm_intergenic, lm_contig_missing, "
                "lm_ref_mismatch, lm_symbolic_allele, lm_not_snv). A record can have one row "
                "per model.",
            ),
        ] = None,
        strict: Annotated[
            bool,
            typer.Option(
                "--strict",
                help="Any skip except intergenic, lm_intergenic and lm_not_snv is an error "
                "(exit 1).",
            ),
        ] = False,
        device: DeviceOption = "auto",
        batch_size: BatchSizeOption = 32,
        threads: ThreadsOption = 0,
        precision: PrecisionOption = PrecisionChoice.fp32,
        weights: WeightsOption = None,
        block_size: Annotated[
            int,
            typer.Option("--block-size", min=1, help="Records read, scored and written per block."),
        ] = 512,
        full_windows: Annotated[
            bool,
            typer.Option(
                "--full-windows",
                hidden=True,
                help="Run every ALT window through the whole model (no SNV work sharing); "
                "for benchmarks and checks.",
            ),
        ] = False,
        regions: RegionsOption = None,
        regions_file: RegionsFileOption = None,
        shard: ShardOption = None,
        model: Annotated[
            str,
            typer.Option(
                "--model",
                "-m",
                help="INFO keys to add, comma-separated: spliceai (SpliceAI delta scores), "
                "splicebert (SpliceBERT zero-shot SNV scores, INFO SpliceBERT=ALLELE|SYMBOL|"
                "KL_CONTEXT|DELTA_LOGP), or spliceai,splicebert for both in one pass.",
            ),
        ] = "spliceai",
        lm_model: Annotated[
            LMModelChoice,
            typer.Option(
                "--lm-model",
                help="SpliceBERT checkpoint: splicebert-510 (SpliceBERT.510nt), "
                "splicebert-human-510 or splicebert (the 1024-nt model).",
            ),
        ] = LMModelChoice.splicebert_510,
        lm_weights: Annotated[
            Path | None,
            typer.Option(
                "--lm-weights",
                help="SpliceBERT folder or weight file (default: $RNATOOLS_SPLICEBERT_WEIGHTS).",
            ),
        ] = None,
        lm_window: Annotated[
            int,
            typer.Option(
                "--lm-window",
                min=3,
                help="SpliceBERT window in nt, centred on the variant on the gene's strand "
                "(N past contig ends; at most what the model takes).",
            ),
        ] = 510,
        lm_strand: Annotated[
            LMStrandChoice | None,
            typer.Option(
                "--lm-strand",
                help="Also score variants outside every transcript with SpliceBERT, on this "
                "strand (SYMBOL '.'); by default they get no SpliceBERT entry (lm_intergenic).",
            ),
        ] = None,
    ) -> None:
        run_annotate(
            input_path,
            output_path,
            fasta,
            annotation,
            distance,
            mask,
            index=index.value if index else None,
            pad_contig_ends=pad_contig_ends,
            skip_report=skip_report,
            strict=strict,
            device=device,
            batch_size=batch_size,
            threads=threads,
            precision=precision.value,
            weights=weights,
            block_size=block_size,
            full_windows=full_windows,
            regions=regions,
            regions_file=regions_file,
            shard=shard,
            models=parse_models(model),
            lm_model=lm_model.value,
            lm_weights=lm_weights,
            lm_window=lm_window,
            lm_strand=lm_strand.value if lm_strand else None,
        )

    @app.command(
        "spliceai",
        help="Drop-in replacement for the spliceai command (same flags, same output file): "
        "spliceai -I IN -O OUT -R REF -A ANN -D 50 -M 0 becomes rnatools spliceai ... "
        "See `rnatools annotate` for the extra options.",
    )
    def spliceai(
        input_path: Annotated[str, typer.Option("-I", help="Input VCF (- = stdin).")] = "-",
        output_path: Annotated[str, typer.Option("-O", help="Output VCF (- = stdout).")] = "-",
        reference: Annotated[Path | None, typer.Option("-R", help="Reference FASTA.")] = None,
        annotation: Annotated[
            str | None, typer.Option("-A", help="grch37, grch38 or an annotation table.")
        ] = None,
        distance: Annotated[
            int, typer.Option("-D", min=0, max=4999, help="Max distance (nt).")
        ] = 50,
        mask: Annotated[int, typer.Option("-M", min=0, max=1, help="Mask scores (0/1).")] = 0,
        device: DeviceOption = "auto",
        threads: ThreadsOption = 0,
    ) -> None:
        if reference is None or annotation is None:
            raise UsageError("-R (reference FASTA) and -A (annotation) are required")
        run_annotate(
            input_path,
            output_path,
            reference,
            annotation,
            distance,
            bool(mask),
            device=device,
            threads=threads,
        )

    annotation_app = typer.Typer(
        help="SpliceAI annotation tables (one canonical transcript per gene).",
        no_args_is_help=True,
    )

    @annotation_app.command(
        "build",
        help="Build a SpliceAI annotation table from a GTF/GFF3 (gzip ok): one row per gene from "
        "its canonical transcript (MANE_Select, then Ensembl_canonical, then basic "
        "protein_coding, then longest exon total; see "
        "rnatools.io.gtf.canonical_transcript). Use it with annotate -a TABLE.",
    )
    def build(
        gene_models: Annotated[Path, typer.Argument(help="GTF or GFF3 file.")],
        output: Annotated[
            str, typer.Option("--output", "-o", help="Table to write (- = stdout).")
        ] = "-",
    ) -> None:
        from rnatools.io.gene_table import rows_from_gene_models, write_gene_table

        if not gene_models.is_file():
            raise InputError("gene model file not found", gene_models)
        count = write_gene_table(rows_from_gene_models(gene_models), output)
        log.info("wrote %d genes to %s", count, output)

    app.add_typer(annotation_app, name="annotation")

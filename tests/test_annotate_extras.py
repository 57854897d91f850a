"""annotate's opt-in extras (issue 12) through the pipeline: per-transcript entries, raw
REF/ALT probabilities, the max score, MNVs and normalisation — and the default key unchanged.

Real SpliceAI weights (the installed spliceai package) on ClinVar BRCA1 records.
"""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from rnatools.errors import UsageError
from rnatools.models.spliceai_weights import installed_weights
from rnatools.pipelines.annotate import AnnotateSettings, run_annotate
from rnatools.scoring.entries import parse_entries

ROOT = Path(__file__).resolve().parents[1]
QUERY = ROOT / "tests" / "data" / "precomputed" / "query.vcf"
EXAMPLE = ROOT / "examples" / "brca1"

pytestmark = pytest.mark.skipif(
    installed_weights() is None, reason="needs the SpliceAI weights: pip install spliceai==1.3.1"
)


def _run(tmp_path: Path, name: str, source: Path = QUERY, **extra):
    settings = AnnotateSettings(
        input=source,
        output=tmp_path / name,
        fasta=EXAMPLE / "GRCh38.chr17.brca1.fa.gz",
        annotation=EXAMPLE / "brca1.gtf",
        device="cpu",
        threads=1,
        **extra,
    )
    summary = run_annotate(settings)
    with pysam.VariantFile(str(tmp_path / name)) as vcf:
        records = [
            {key: record.info[key] for key in record.info if key.startswith("SpliceAI")}
            for record in vcf
        ]
    return summary, records


def test_extras_add_keys_and_leave_the_default_key_alone(tmp_path):
    _, plain = _run(tmp_path, "plain.vcf")
    summary, extra = _run(
        tmp_path,
        "extra.vcf",
        transcripts="canonical",
        raw_scores=True,
        max_score=True,
    )
    assert [record.get("SpliceAI") for record in extra] == [r.get("SpliceAI") for r in plain]
    scored = [record for record in extra if "SpliceAI" in record]
    assert len(scored) == 10
    for record in scored:
        genes = parse_entries("SpliceAI", record["SpliceAI"])
        transcripts = parse_entries("SpliceAI_TX", record["SpliceAI_TX"])
        # -a GTF rows are the canonical transcripts: the same windows, the same numbers
        assert [(t.allele, t.gene, t.scores, t.positions) for t in transcripts] == [
            (g.allele, g.gene, g.scores, g.positions) for g in genes
        ]
        assert {t.transcript for t in transcripts} == {"ENST00000357654"}
        assert len(record["SpliceAI_RAW"]) == len(record["SpliceAI"])
        best = max(g.max_score for g in genes)
        assert record["SpliceAI_DS_max"] == pytest.approx(best)
        for raw, gene in zip(record["SpliceAI_RAW"], genes, strict=True):
            fields = raw.split("|")
            assert fields[:2] == [gene.allele, gene.gene]
            ag_ref, ag_alt, al_ref, al_alt = (float(value) for value in fields[2:6])
            # DS_AG = ALT - REF and DS_AL = REF - ALT at their positions (2 decimals)
            assert abs((ag_alt - ag_ref) - gene.scores[0]) <= 0.006
            assert abs((al_ref - al_alt) - gene.scores[1]) <= 0.006
    assert summary.not_normalized == {"SpliceAI": 0}


def test_equivalent_indels_score_alike_with_normalize(tmp_path):
    # chr17:43045800 region: a deletion of one base of a homopolymer written two ways
    with pysam.FastaFile(str(EXAMPLE / "GRCh38.chr17.brca1.fa.gz")) as fasta:
        sequence = fasta.fetch("chr17", 43_045_700, 43_045_900).upper()
    run = next(
        i for i in range(1, len(sequence) - 3) if sequence[i] == sequence[i + 1] != sequence[i - 1]
    )
    pos1 = 43_045_700 + run  # 1-based POS of the base before the homopolymer
    anchor, base = sequence[run - 1], sequence[run]
    left = f"chr17\t{pos1}\tleft\t{anchor}{base}\t{anchor}\t.\t.\t."
    right = f"chr17\t{pos1 + 1}\tright\t{base}{base}\t{base}\t.\t.\t."
    source = tmp_path / "indels.vcf"
    source.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr17>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"{left}\n{right}\n"
    )
    summary, records = _run(tmp_path, "norm.vcf", source, normalize=True)
    assert summary.not_normalized == {"SpliceAI": 1}
    first, second = (parse_entries("SpliceAI", r["SpliceAI"])[0] for r in records)
    assert first.scores == second.scores
    # positions count from each record's POS: the same genome positions
    assert [p + pos1 for p in first.positions] == [p + pos1 + 1 for p in second.positions]


def test_transcripts_need_a_gene_model_file(tmp_path):
    with pytest.raises(UsageError) as caught:
        run_annotate(
            AnnotateSettings(
                input=QUERY,
                output=tmp_path / "out.vcf",
                fasta=EXAMPLE / "GRCh38.chr17.brca1.fa.gz",
                annotation="grch38",
                transcripts="mane",
            )
        )
    assert caught.value.parameter == "transcripts"

"""Rebuild brca1.spliceai.vcf.gz (+ .tbi) from an `rnatools annotate` output of split.vcf.

    rnatools annotate -i tests/data/precomputed/split.vcf -o /tmp/split.annot.vcf \
        -a examples/brca1/brca1.gtf -f examples/brca1/GRCh38.chr17.brca1.fa.gz --device cpu
    python tests/data/precomputed/make_precomputed.py /tmp/split.annot.vcf

Adds the run's ``##rnatools_settings`` line (distance 50, mask 0, annotation brca1.gtf with its
MD5) after the INFO header of SpliceAI, bgzips the result and indexes it with tabix.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pysam

from rnatools.scoring.precomputed import run_settings, settings_header_line

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def main(annotated: str) -> None:
    settings = run_settings(
        model="spliceai", distance=50, mask=False, annotation=ROOT / "examples/brca1/brca1.gtf"
    )
    settings["version"] = "0.1.0"
    line = settings_header_line("SpliceAI", settings)
    out_lines = []
    for text in Path(annotated).read_text().splitlines():
        out_lines.append(text)
        if text.startswith("##INFO=<ID=SpliceAI,"):
            out_lines.append(line)
    plain = HERE / "brca1.spliceai.vcf"
    plain.write_text("\n".join(out_lines) + "\n")
    pysam.tabix_compress(str(plain), str(plain) + ".gz", force=True)
    plain.unlink()
    pysam.tabix_index(str(plain) + ".gz", preset="vcf", force=True)


if __name__ == "__main__":
    main(sys.argv[1])

"""Derive clinvar_brca1.grch38.vcf.gz (+ .tbi) from MMSplice's ClinVar BRCA1 test VCF (GRCh37).

    python examples/brca1/make_clinvar_vcf.py \
        --vcf-grch37 ../shared/data/expected_scores/mmsplice_clinvar_brca1/test.vcf.gz \
        --out examples/brca1

Every record keeps its columns and INFO; only CHROM (``17`` → ``chr17``, the FASTA's name) and
POS (+ 1,847,983, the GRCh37 → GRCh38 offset that holds inside BRCA1 only) change, and the
header says GRCh38 and declares ``chr17`` only (the GRCh37 ``##contig`` lines, ``17`` with its
GRCh37 length among them, are dropped). The script checks that every REF equals the bundled
GRCh38 FASTA before writing, and writes the output with pysam (bgzip + tabix), so a rerun gives
the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import os
from pathlib import Path

import pysam

OFFSET = 1_847_983
FASTA = "GRCh38.chr17.brca1.fa.gz"
NAME = "clinvar_brca1.grch38.vcf.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vcf-grch37", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    fasta = pysam.FastaFile(str(args.out / FASTA))
    length = dict(zip(fasta.references, fasta.lengths, strict=True))["chr17"]
    header: list[str] = []
    body: list[str] = []
    with gzip.open(args.vcf_grch37, "rt") as handle:
        for line in handle:
            if line.startswith("##reference="):
                header.append("##reference=GRCh38 (GRCh37 POS + 1847983; valid inside BRCA1)\n")
            elif line.startswith("##contig="):
                continue  # GRCh37 contigs: this file is GRCh38 and holds chr17 only
            elif line.startswith("#CHROM"):
                header.append(f"##contig=<ID=chr17,length={length},assembly=GRCh38>\n")
                header.append(line)
            elif line.startswith("#"):
                header.append(line)
            else:
                fields = line.rstrip("\n").split("\t")
                if fields[0] != "17":
                    raise SystemExit(f"unexpected contig {fields[0]!r}")
                pos1 = int(fields[1]) + OFFSET
                ref = fields[3]
                found = fasta.fetch("chr17", pos1 - 1, pos1 - 1 + len(ref)).upper()
                if found != ref.upper():
                    raise SystemExit(f"REF mismatch at chr17:{pos1}: VCF {ref}, FASTA {found}")
                fields[0], fields[1] = "chr17", str(pos1)
                body.append("\t".join(fields) + "\n")
    plain = args.out / NAME.removesuffix(".gz")
    plain.write_text("".join(header) + "".join(body))
    pysam.tabix_compress(str(plain), str(args.out / NAME), force=True)
    os.unlink(plain)
    pysam.tabix_index(str(args.out / NAME), preset="vcf", force=True)
    print(f"{len(body)} records, every REF matches {FASTA}")


if __name__ == "__main__":
    main()

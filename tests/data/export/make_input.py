"""Build tests/data/export/input.vcf: 10 records on GRCh38 chr17 (REF read from the example FASTA).

Run from the repository root: python tests/data/export/make_input.py
"""

from __future__ import annotations

from pathlib import Path

import pysam

HERE = Path(__file__).parent
FASTA = HERE.parents[2] / "examples" / "brca1" / "GRCh38.chr17.brca1.fa.gz"

# (pos1, id, ref length, alts, why)
RECORDS = [
    (42430000, "intergenic", 1, None, "no gene of grch38.txt: no SpliceAI key"),
    (42953723, "AARSD1_acceptor", 1, None, "AARSD1 and PTGES3L-AARSD1 overlap: two genes"),
    (42953779, "AARSD1_donor", 1, None, "two genes"),
    (43045790, "mnv", 2, ("TC",), "MNV: SpliceAI '.' entry"),
    (43045803, "125856", 1, ("T",), "ClinVar 125856"),
    (43047641, "125852;125851", 1, ("C", "G"), "ClinVar 125852 and 125851 joined: two ALTs"),
    (43047641, "267604", 2, ("A",), "ClinVar 267604, deletion"),
    (43047645, "125850", 1, ("TA",), "ClinVar 125850, insertion"),
    (43049195, "55533", 1, ("T",), "ClinVar 55533"),
    (43051061, "267598", 1, ("G",), "ClinVar 267598"),
]

OTHER = {"A": "G", "C": "T", "G": "A", "T": "C"}


def main() -> None:
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr17,length=83257441,assembly=GRCh38>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    with pysam.FastaFile(str(FASTA)) as fasta:
        for pos1, name, length, alts, _why in RECORDS:
            ref = fasta.fetch("chr17", pos1 - 1, pos1 - 1 + length).upper()
            if alts is None:
                alts = (OTHER[ref],)
            lines.append(f"chr17\t{pos1}\t{name}\t{ref}\t{','.join(alts)}\t.\t.\t.")
    (HERE / "input.vcf").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Build the BRCA1 example inputs of the README (GRCh38, real chr17 coordinates).

Usage (from the repository root, with rnatools installed):

    S=../shared/data
    python examples/brca1/make_example.py \
        --region-fasta $S/grch38_chr17_brca1_region/chr17_42425000-43600000.grch38.fa.gz \
        --gtf-hg19 $S/annotations/mmsplice_BRCA1_ensembl_hg19.gtf.gz \
        --out examples/brca1

Writes, into ``--out``:

* ``GRCh38.chr17.brca1.fa.gz`` (+ ``.fai``, ``.gzi``): one bgzip-compressed contig ``chr17`` of
  the real GRCh38 length (83,257,441 nt) holding the real sequence of chr17:42,425,000-43,600,000
  (1-based) at its real place and ``N`` elsewhere; the N runs compress to almost nothing.
* ``brca1.gtf``: the Ensembl (GRCh37) BRCA1 GTF moved to GRCh38 by adding 1,847,983 to every
  coordinate (the offset is constant over BRCA1), contig ``17`` renamed ``chr17``.
* ``brca1.bed``: the BRCA1 gene interval (BED6, minus strand).

Then checks that every intron of the shifted GTF is GT...AG on the new FASTA.
"""

from __future__ import annotations

import argparse
import gzip
import os
import tempfile
from pathlib import Path

import pysam

from rnatools.io.fasta import Fasta, read_fasta_records
from rnatools.io.gtf import read_genes
from rnatools.sequence import reverse_complement

CHR17_LENGTH = 83_257_441  # GRCh38 chr17 (NC_000017.11)
REGION_START1 = 42_425_000  # 1-based first base of the real sequence
REGION_LENGTH = 1_175_001
HG19_TO_GRCH38_BRCA1 = 1_847_983  # verified over the BRCA1 gene only (shared PROVENANCE)
LINE_WIDTH = 60


def write_fasta(region_fasta: Path, destination: Path) -> None:
    records = read_fasta_records(region_fasta)
    if len(records) != 1 or len(records[0][1]) != REGION_LENGTH:
        raise SystemExit(f"{region_fasta}: expected one record of {REGION_LENGTH:,} nt")
    region = records[0][1]
    start0 = REGION_START1 - 1
    chromosome = "N" * start0 + region + "N" * (CHR17_LENGTH - start0 - REGION_LENGTH)
    assert len(chromosome) == CHR17_LENGTH
    with tempfile.TemporaryDirectory(dir=destination.parent) as folder:
        plain = Path(folder) / "chr17.fa"
        with open(plain, "w") as handle:
            handle.write(">chr17 GRCh38 chr17; real sequence only at 42,425,000-43,600,000\n")
            for i in range(0, CHR17_LENGTH, LINE_WIDTH):
                handle.write(chromosome[i : i + LINE_WIDTH])
                handle.write("\n")
        for suffix in ("", ".fai", ".gzi"):
            Path(f"{destination}{suffix}").unlink(missing_ok=True)
        pysam.tabix_compress(str(plain), str(destination), force=True)
    pysam.faidx(str(destination))


def write_gtf(gtf_hg19: Path, destination: Path) -> tuple[int, int, str]:
    """Shift the GTF; return the BRCA1 gene's 1-based GRCh38 start, end and strand."""
    gene = None
    with gzip.open(gtf_hg19, "rt") as source, open(destination, "w") as out:
        out.write(
            f"#!derived from mmsplice_BRCA1_ensembl_hg19.gtf (Ensembl GRCh37): coordinates "
            f"+{HG19_TO_GRCH38_BRCA1:,}, contig 17 renamed chr17\n"
        )
        for line in source:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if fields[0] != "17":
                raise SystemExit(f"{gtf_hg19}: unexpected contig {fields[0]!r}")
            fields[0] = "chr17"
            fields[3] = str(int(fields[3]) + HG19_TO_GRCH38_BRCA1)
            fields[4] = str(int(fields[4]) + HG19_TO_GRCH38_BRCA1)
            if fields[2] == "gene" and 'gene_name "BRCA1"' in fields[8] and gene is None:
                gene = (int(fields[3]), int(fields[4]), fields[6])
            out.write("\t".join(fields) + "\n")
    if gene is None:
        raise SystemExit(f"{gtf_hg19}: no BRCA1 gene line")
    return gene


def check_introns(fasta_path: Path, gtf_path: Path) -> tuple[int, int]:
    """Count introns and those that are GT...AG on the transcript's strand."""
    introns = canonical = 0
    with Fasta(fasta_path, build_index=False) as fasta:
        for gene in read_genes(gtf_path):
            for transcript in gene.transcripts:
                for start, end in transcript.introns:
                    intron = fasta.fetch(transcript.chrom, start, end)
                    if transcript.strand == "-":
                        intron = reverse_complement(intron)
                    introns += 1
                    canonical += intron[:2] == "GT" and intron[-2:] == "AG"
    return introns, canonical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region-fasta", type=Path, required=True)
    parser.add_argument("--gtf-hg19", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    fasta_path = out / "GRCh38.chr17.brca1.fa.gz"
    write_fasta(args.region_fasta, fasta_path)
    start1, end1, strand = write_gtf(args.gtf_hg19, out / "brca1.gtf")
    start0 = start1 - 1  # GTF 1-based inclusive → BED 0-based half-open
    (out / "brca1.bed").write_text(f"chr17\t{start0}\t{end1}\tBRCA1\t0\t{strand}\n")

    introns, canonical = check_introns(fasta_path, out / "brca1.gtf")
    sizes = {
        path.name: os.path.getsize(path)
        for path in sorted(out.iterdir())
        if path.name.startswith(("GRCh38", "brca1"))
    }
    print(f"BRCA1 GRCh38 {start1:,}-{end1:,} ({strand}); introns GT-AG {canonical}/{introns}")
    for name, size in sizes.items():
        print(f"{size:>10,} {name}")
    if canonical != introns:
        raise SystemExit("some introns are not GT-AG: check the coordinate shift")


if __name__ == "__main__":
    main()

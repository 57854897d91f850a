#!/usr/bin/env nextflow
// Scatter a VCF over N shards, `rnatools annotate --shard I/N` each, `rnatools merge` them in
// shard order into one bgzipped, indexed VCF equal to one unsharded run. The exact mirror of
// ../snakemake/Snakefile (same parameters as its config.yaml).
//
//   nextflow run main.nf -profile conda                       # CPU, bundled BRCA1 example
//   nextflow run main.nf -profile conda,gpu --shards 8        # one GPU per shard job
//
// Restarts: rnatools writes every output to a temporary file and renames it when complete;
// `nextflow run ... -resume` reruns only the tasks that did not finish.
nextflow.enable.dsl = 2

include { RNATOOLS_ANNOTATE } from './modules/rnatools_annotate/main'
include { RNATOOLS_MERGE    } from './modules/rnatools_merge/main'

workflow {
    def n_shards = params.shards as int
    def vcf = file(params.vcf, checkIfExists: true)
    def fasta = file(params.fasta, checkIfExists: true)
    def fasta_index = files("${params.fasta}.{fai,gzi}")
    def meta = [id: params.id ?: vcf.name.replaceAll(/\.(vcf|bcf)(\.gz)?$/, '')]

    shards = Channel.of(1..n_shards).map { shard -> tuple(meta, vcf, shard, n_shards) }

    RNATOOLS_ANNOTATE(shards, fasta, fasta_index, params.annotation)

    // Gather the N shard outputs and put them in shard order before merging.
    ordered = RNATOOLS_ANNOTATE.out.vcf
        .map { m, shard, shard_vcf -> tuple(m, tuple(shard, shard_vcf)) }
        .groupTuple(size: n_shards)
        .map { m, parts -> tuple(m, parts.sort { it[0] }.collect { it[1] }) }

    RNATOOLS_MERGE(ordered)

    RNATOOLS_ANNOTATE.out.versions
        .mix(RNATOOLS_MERGE.out.versions)
        .unique()
        .collectFile(name: 'versions.yml', storeDir: "${params.outdir}/pipeline_info")
}

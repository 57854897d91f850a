// nf-core-style module: SpliceAI delta scores for one shard of a VCF (rnatools annotate --shard).
// Mirror of rule annotate_shard in ../../../snakemake/Snakefile.
process RNATOOLS_ANNOTATE {
    tag "${meta.id} ${shard}/${n_shards}"
    label 'process_gpu'

    conda "${moduleDir}/../../../../../environment.yml"

    input:
    tuple val(meta), path(vcf), val(shard), val(n_shards)
    path fasta
    path fasta_index        // .fai (and .gzi for a bgzipped FASTA), staged beside the FASTA
    val annotation          // grch37, grch38, a SpliceAI-format table or a GTF/GFF3

    output:
    tuple val(meta), val(shard), path("*.vcf.gz"), emit: vcf
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''      // e.g. "--device cuda -d 50" (nextflow.config)
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    rnatools annotate \\
        -i ${vcf} \\
        -o ${prefix}.${shard}-of-${n_shards}.vcf.gz \\
        -f ${fasta} \\
        -a ${annotation} \\
        --threads ${task.cpus} \\
        --shard ${shard}/${n_shards} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        rnatools: \$(rnatools --version | sed 's/^rnatools //')
    END_VERSIONS
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo | gzip > ${prefix}.${shard}-of-${n_shards}.vcf.gz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        rnatools: \$(rnatools --version | sed 's/^rnatools //')
    END_VERSIONS
    """
}

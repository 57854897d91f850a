// nf-core-style module: join shard VCFs, in shard order, into one bgzipped, tabix-indexed VCF
// equal to an unsharded run's (rnatools merge). Mirror of rule merge in the Snakefile.
process RNATOOLS_MERGE {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/../../../../../environment.yml"

    input:
    tuple val(meta), path(vcfs, stageAs: 'shards/*')   // in shard order: 1/N first

    output:
    tuple val(meta), path("${prefix}.vcf.gz"), path("${prefix}.vcf.gz.tbi"), emit: vcf
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}.annotated"
    """
    rnatools merge --index tbi ${args} -o ${prefix}.vcf.gz ${vcfs.join(' ')}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        rnatools: \$(rnatools --version | sed 's/^rnatools //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}.annotated"
    """
    echo | gzip > ${prefix}.vcf.gz
    touch ${prefix}.vcf.gz.tbi

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        rnatools: \$(rnatools --version | sed 's/^rnatools //')
    END_VERSIONS
    """
}

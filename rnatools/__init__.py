"""rnatools: splicing and RNA language models on genomic data, from the command line.

Coordinates inside the package are 0-based half-open intervals; 1-based positions appear only at
the VCF/GTF edges and are converted once, where they are read.
"""

__version__ = "0.1.0"

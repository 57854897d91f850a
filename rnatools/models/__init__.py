"""Model adapters (SpliceAI, masked RNA language models), reached through the registry
(:mod:`rnatools.models.registry`: ``find_weights``, ``load_model``)."""

"""Model adapters (SpliceAI, masked RNA language models) and the registry of known models."""

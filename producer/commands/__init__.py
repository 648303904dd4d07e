"""One module per command; each imports what it shares from ``producer.options``."""

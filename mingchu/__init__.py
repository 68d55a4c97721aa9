"""Code shared by the edge agent and the hub: the wire contract, the taxonomy, config loading."""

__version__ = "0.1.0"

"""carestar: land hospital data files in a warehouse, exactly once."""

__version__ = "0.1.0"

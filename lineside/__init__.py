"""lineside: edge agent for the digital workshops of food factories."""

__version__ = "0.1.0"

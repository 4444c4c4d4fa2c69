"""Configuration: models, loading with positions, cross-checks."""

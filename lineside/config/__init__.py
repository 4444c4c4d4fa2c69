"""Configuration: models, loading with positions, cross-checks."""

from lineside.config.errors import ConfigError, ConfigIssue
from lineside.config.loader import load_config, parse_config, read_secret
from lineside.config.models import LinesideConfig
from lineside.config.plant import iter_machines

__all__ = ["ConfigError", "ConfigIssue", "LinesideConfig", "iter_machines", "load_config",
           "parse_config", "read_secret"]

"""Configuration: models, loading with positions, cross-checks."""

from lineside.agent.config.errors import ConfigError, ConfigIssue
from lineside.agent.config.loader import load_config, parse_config, read_secret
from lineside.agent.config.models import LinesideConfig
from lineside.agent.config.plant import iter_machines

__all__ = ["ConfigError", "ConfigIssue", "LinesideConfig", "iter_machines", "load_config",
           "parse_config", "read_secret"]

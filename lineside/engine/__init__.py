"""Sans-I/O engine: samples and clock ticks in, points out (docs/design.md, docs/engine.md)."""

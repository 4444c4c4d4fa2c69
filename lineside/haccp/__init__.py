"""HACCP records: the hash chain, `lineside haccp` (records and verify). docs/haccp.md."""

"""Modbus TCP, RTU (serial) and RTU-over-TCP driver (build.build_modbus_drivers). Only read
function codes 1-4 are ever sent (see link.py)."""

"""Durable delivery: a disk queue and an InfluxDB writer per sink (sinkset.SinkSet);
docs/delivery.md."""

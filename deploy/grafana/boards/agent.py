"""The agent health board (`lineside-agent`, Prometheus; docs/metrics.md)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard as dm

from boards import kit
from boards.kit import PROM, Grid, prom, steps
from boards.panels import stat_panel, state_timeline_panel, timeseries_panel

LOAD = steps(("green", None), ("orange", 0.5), ("red", 0.8))


def summed(fn: str, metric: str, sel: str, by: str = "") -> str:
    """`sum [by (...)] (fn(metric{sel}[$__rate_interval]))`: a counter's rate or
    increase per interval, summed over what `by` leaves apart."""
    inner = f"({fn}({metric}{{{sel}}}[$__rate_interval]))"
    return f"sum by ({by}) {inner}" if by else f"sum{inner}"


def agent_health() -> db.Dashboard:
    variables = [
        kit.datasource_variable("prometheus"),
        *(kit.query_variable(name, label, query, ds=PROM) for name, label, query in (
            ("instance", "Agent", "label_values(lineside_build_info, instance)"),
            ("device", "Device", 'label_values(lineside_device_up{instance=~"$instance"}, '
                                 'device)'),
            ("sink", "Sink", 'label_values(lineside_sink_up{instance=~"$instance"}, sink)'))),
    ]
    d = kit.dashboard("lineside-agent", "lineside · Agent health",
                      "The agent's own metrics (Prometheus): devices, delivery, engine.",
                      variables, [kit.grafana_annotations()], time_from="now-6h")
    g = Grid(d)
    inst = 'instance=~"$instance"'
    dev = f'{inst}, device=~"$device"'
    snk = f'{inst}, sink=~"$sink"'
    up_map = [dm.ValueMap(options={"0": dm.ValueMappingResult(text="DOWN", color="red"),
                                   "1": dm.ValueMappingResult(text="UP", color="green")})]
    blue = steps(("blue", None))

    g.row("Agent")
    g.add(stat_panel("Agent scraped", [prom(f'up{{job=~"lineside.*", {inst}}}', instant=True,
                                            legend="{{instance}}")], unit="none",
                     th=steps(("red", None), ("green", 1)), decimals=0, ds=PROM), 4, 4)
    g.add(stat_panel("Version", [prom(f"lineside_build_info{{{inst}}}", instant=True,
                                      legend="{{version}}")], unit="none", th=blue,
                     decimals=0, ds=PROM), 4, 4)
    g.add(stat_panel("Uptime", [prom(f"time() - lineside_start_time_seconds{{{inst}}}",
                                     instant=True, legend="{{instance}}")], unit="s", th=blue,
                     decimals=0, ds=PROM), 4, 4)
    g.add(stat_panel("Devices up", [prom(f"sum(lineside_device_up{{{inst}}})", "A", "up",
                                         instant=True),
                                    prom(f"count(lineside_device_up{{{inst}}})", "B",
                                         "configured", instant=True)],
                     unit="none", th=blue, decimals=0, ds=PROM), 4, 4)
    g.add(stat_panel("Config", [prom(f"lineside_config_loaded{{{inst}}}", "A", "loaded",
                                     instant=True),
                                prom(f"lineside_config_last_reload_successful{{{inst}}}", "B",
                                     "last reload ok", instant=True)],
                     unit="none", th=steps(("red", None), ("green", 1)), decimals=0, ds=PROM),
          4, 4)
    g.add(stat_panel("Engine samples/s", [prom(
        summed("rate", "lineside_engine_samples_total", inst), instant=True)],
        unit="short", th=blue, ds=PROM), 4, 4)

    g.row("Devices")
    g.add(state_timeline_panel("Device up", [prom(f"lineside_device_up{{{dev}}}",
                                                  legend="{{device}}")],
                               "1 when the device's last poll cycle read its signals.",
                               legend=False, mappings=up_map, ds=PROM), 12, 8)
    g.add(timeseries_panel("Poll duration p95", [prom(
        "histogram_quantile(0.95, " + summed(
            "rate", "lineside_device_poll_duration_seconds_bucket", dev, "device, le") + ")",
        legend="{{device}}")], unit="s", ds=PROM), 12, 8)
    g.add(timeseries_panel("Errors by kind", [prom(
        summed("rate", "lineside_device_errors_total", dev, "device, kind"),
        legend="{{device}} {{kind}}")], unit="reqps", ds=PROM), 12, 8)
    g.add(timeseries_panel("Age of the last good sample", [prom(
        f"lineside_device_last_good_sample_age_seconds{{{dev}}}", legend="{{device}}")],
        unit="s", ds=PROM, th=steps(("green", None), ("orange", 60), ("red", 300))), 12, 8)

    g.row("Delivery")
    g.add(timeseries_panel("Queue depth (points)", [prom(
        f"lineside_sink_queue_points{{{snk}}}", legend="{{sink}}")], unit="short", ds=PROM),
        8, 8)
    g.add(timeseries_panel("Queue fill (bytes / bound)", [prom(
        f"lineside_sink_queue_bytes{{{snk}}} / lineside_sink_queue_max_bytes{{{snk}}}",
        legend="{{sink}}")], unit="percentunit", ds=PROM, minmax=(0, 1), th=LOAD), 8, 8)
    g.add(state_timeline_panel("Sink up", [prom(f"lineside_sink_up{{{snk}}}",
                                                legend="{{sink}}")],
                               legend=False, mappings=up_map, ds=PROM), 8, 8)
    g.add(timeseries_panel("Points written / failed writes retried, per second", [
        prom(summed("rate", "lineside_sink_points_written_total", snk, "sink"), "A",
             "{{sink}} written"),
        prom(summed("rate", "lineside_sink_write_retries_total", snk, "sink"), "B",
             "{{sink}} write retries"),
    ], unit="short", ds=PROM), 12, 8)
    g.add(timeseries_panel("Points lost: dropped (queue full) and dead-lettered", [
        prom(summed("increase", "lineside_sink_points_dropped_total", snk,
                    "sink, measurement"), "A", "{{sink}} dropped {{measurement}}"),
        prom(summed("increase", "lineside_sink_points_dead_lettered_total", snk, "sink"),
             "B", "{{sink}} dead-lettered"),
    ], unit="short", bars=True, ds=PROM,
        description="Anything here is data that did not reach the sink: see the "
        "LinesideDataDropped and LinesideDeadLetters alerts."), 12, 8)

    g.row("Engine")
    g.add(timeseries_panel("Buckets closed / late samples", [
        prom(summed("increase", "lineside_engine_buckets_closed_total", inst), "A",
             "buckets closed"),
        prom(summed("increase", "lineside_engine_late_samples_total", inst), "B",
             "late samples"),
    ], unit="short", ds=PROM), 24, 7)

    g.row("Process")
    g.add(timeseries_panel("Memory (RSS)", [prom(f"process_resident_memory_bytes{{{inst}}}",
                                                 legend="{{instance}}")],
                           unit="bytes", ds=PROM,
                           description="Resident memory of the agent process; compare with "
                           "the unit's MemoryHigh/MemoryMax."), 8, 7)
    g.add(timeseries_panel("CPU (cores)", [prom(
        f"rate(process_cpu_seconds_total{{{inst}}}[$__rate_interval])",
        legend="{{instance}}")], unit="short", ds=PROM,
        description="User + system CPU seconds per second: 1 = one core busy."), 8, 7)
    g.add(timeseries_panel("Open file descriptors / limit", [prom(
        f"process_open_fds{{{inst}}} / process_max_fds{{{inst}}}", legend="{{instance}}")],
        unit="percentunit", ds=PROM, minmax=(0, 1), th=LOAD,
        description="Sockets to PLCs and sinks, queue files: a share that keeps growing "
        "is a leak."), 8, 7)
    return d

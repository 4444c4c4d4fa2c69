"""The bureau's report: automation rates per enterprise and stage kind (issue 8).

`aggregate.build_report` is pure (rows in, `Report` out); `query` builds InfluxQL and
fetches; `render`/`html` format; `cli` wires them for `lineside report`.
"""

"""Tests of the bureau view (issue 8): uplink filter, report, dashboard."""

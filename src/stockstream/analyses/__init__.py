"""The six analyses of the gold tables and their HTML report.

`load` reads the gold rows of a date range (the only IO on the way in), `compute` turns them into
small exact frames, `plot` turns those into figures, and `report.render` writes the PNGs and
report.html (the only IO on the way out).
"""

from __future__ import annotations

from stockstream.analyses.report import CHART_FILES, REPORT_FILE, RenderReport, render

__all__ = ["CHART_FILES", "REPORT_FILE", "RenderReport", "render"]

"""The live dashboard in the Airflow UI's navigation: an Airflow 3 external view (a link; the
dashboard is its own process, see stockstream.services.dashboard)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from stockstream.config import get_settings

# A small line chart, so the top-level navigation button has an icon like the others.
ICON = (
    "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' "
    "stroke='%23888' stroke-width='2'><polyline points='3,17 9,11 13,15 21,7'/></svg>"
)


class DashboardLinkPlugin(AirflowPlugin):
    """A top-level 'Live dashboard' link to this instance's dashboard (settings.dashboard_url)."""

    name = "stockstream_dashboard"
    # Airflow's processes run with this instance's STOCKSTREAM_* environment (services/airflow.py).
    external_views = [
        {
            "name": "Live dashboard",
            "href": f"{get_settings().dashboard_url}/",
            "destination": "nav",
            "nav_top_level": True,
            "icon": ICON,
        }
    ]

"""The Airflow UI links to the live dashboard: the plugin's external view, as Airflow loads it."""

from __future__ import annotations

import pytest

from stockstream.config import get_settings

pytestmark = pytest.mark.dags


def test_the_dashboard_link_is_a_top_level_nav_link_to_the_dashboard() -> None:
    from airflow import plugins_manager

    plugins = {info["name"]: info for info in plugins_manager.get_plugin_info()}
    assert plugins_manager.get_import_errors() == {}
    views = plugins["stockstream_dashboard"]["external_views"]
    assert len(views) == 1
    view = views[0]
    assert view["href"] == f"{get_settings().dashboard_url}/"
    # No url_route: a link that leaves the Airflow UI, not an iframe inside it.
    assert (view["name"], view["destination"], view["nav_top_level"]) == ("Live dashboard", "nav", True)
    assert "url_route" not in view

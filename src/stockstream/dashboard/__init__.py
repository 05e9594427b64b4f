"""The live dashboard: a FastAPI app (`create_app`) serving one self-contained page and the JSON
it polls, over data read from the gold tables by `data.DashboardData`.

Run as `python -m stockstream.dashboard` (what `stockstream up` starts, see services/dashboard.py).
"""

from __future__ import annotations

from stockstream.dashboard.app import create_app

__all__ = ["create_app"]

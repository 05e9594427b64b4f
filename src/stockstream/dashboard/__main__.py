"""`python -m stockstream.dashboard`: serve the dashboard of the configured instance with uvicorn,
bound to settings.host on settings.dashboard_port."""

from __future__ import annotations

import logging


def main() -> None:
    import uvicorn

    from stockstream.config import get_settings
    from stockstream.dashboard.app import create_app

    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger(__name__).info("dashboard of %s on %s", settings.data_root, settings.dashboard_url)
    # No access log: the page polls several endpoints every few seconds.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.dashboard_port,
        access_log=False,
        log_level="info",
    )


if __name__ == "__main__":
    main()

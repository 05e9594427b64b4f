"""spark-submit entry point of the day finaliser.

spark-submit jobs/finalize_day.py --date YYYY-MM-DD
"""

from __future__ import annotations

import sys

from stockstream.cli import app

if __name__ == "__main__":
    app(["finalize", *sys.argv[1:]])

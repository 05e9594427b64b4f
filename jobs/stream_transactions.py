"""spark-submit entry point of the streaming job.

spark-submit jobs/stream_transactions.py [--available-now]
"""

from __future__ import annotations

import sys

from stockstream.cli import app

if __name__ == "__main__":
    app(["stream", *sys.argv[1:]])

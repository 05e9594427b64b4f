"""Market data: the transaction contract, sources of daily bars, the intraday simulator."""

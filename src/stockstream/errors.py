"""Errors a person can act on: what went wrong and what to do about it."""

from __future__ import annotations


class StockstreamError(Exception):
    """A failure with a message for people and, where there is one, the next step to take."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  -> {self.hint}" if self.hint else self.message

"""Errors that reach a user: one clear message that says what and where."""

from __future__ import annotations

from pathlib import Path


class ArticError(Exception):
    """Base of every user-facing error; the command line prints it as one line and exits 2."""


class InputError(ArticError, ValueError):
    """Bad input data: names the file, and the line and field when they are known."""

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = str(path)
            if line is not None:
                where += f":{line}"
            if field is not None:
                where += f" (field {field!r})"
            where += ": "
        super().__init__(where + message)
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field


class ConfigError(ArticError, ValueError):
    """A configuration value out of its type or range: names the key and what is allowed."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def check(ok: bool, key: str, message: str) -> None:
    """Raise :class:`ConfigError` for ``key`` unless ``ok``."""
    if not ok:
        raise ConfigError(key, message)

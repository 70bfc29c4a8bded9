"""Errors a user can act on.

Every error stancelab raises on bad input is a :class:`StancelabError`; the CLI prints its message
and exits non-zero instead of showing a traceback. Data problems carry their location (file, line
or record, field) so that a user can open the file and fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class StancelabError(Exception):
    """Base class for errors that are the user's to fix (bad config, bad data, bad model URI)."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in an input file."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" field '{self.field}':" if self.field else ""
        return f"{where}:{field} {self.message}"


class DataValidationError(StancelabError):
    """All problems found in the inputs, shown together (up to ``limit``)."""

    def __init__(self, problems: list[Problem], limit: int = 50):
        self.problems = sorted(problems)
        shown = self.problems[:limit]
        lines = [f"{len(self.problems)} problem(s) in the input data; nothing was written:"]
        lines += [f"  {p}" for p in shown]
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more")
        super().__init__("\n".join(lines))


class UnknownTargetError(StancelabError):
    """A sentence names a target the model was not trained on."""


def check_known_targets(targets: Iterable[Any], known: Iterable[Any]) -> None:
    """Raise :class:`UnknownTargetError` naming the targets not in ``known``, and the known."""
    known = list(known)
    unknown = sorted(set(targets) - set(known), key=str)
    if unknown:
        raise UnknownTargetError(
            f"no model for target(s) {', '.join(repr(t) for t in unknown)}; "
            f"this model knows: {', '.join(repr(t) for t in known)}"
        )


class UntrustedModelError(StancelabError):
    """A saved model contains types that are not on stancelab's trusted list."""


class ModelNotFoundError(StancelabError):
    """A model URI does not resolve to a saved model."""


class TrackingUnreachableError(StancelabError):
    """The tracking server named by the URI does not answer."""

    exit_code = 1


def check_tracking_server(uri: str | None, timeout: float) -> None:
    """Fail within ``timeout`` seconds, before any work, when an HTTP tracking server is down.

    MLflow's client retries an unreachable server for minutes (and ``train`` would fit the
    model meanwhile); one probe of the server's ``/health`` endpoint answers in seconds.
    Stores that are not servers (sqlite, postgresql, folders) are checked when opened.
    """
    if not uri or not uri.startswith(("http://", "https://")):
        return
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answered: a server (perhaps behind a proxy without /health) is there
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise TrackingUnreachableError(
            f"the MLflow tracking server at {uri} cannot be reached ({reason}); start it, fix "
            "MLFLOW_TRACKING_URI / tracking.uri, or train with tracking=off"
        ) from None

"""Progress for long steps: one line per step with its duration; a spinner on a terminal."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("stancelab")


@contextmanager
def step(message: str) -> Iterator[None]:
    """Show ``message`` while the block runs, then log it with its duration."""
    start = time.perf_counter()
    status = None
    if sys.stderr.isatty():
        from rich.console import Console

        status = Console(stderr=True).status(message + " …")
        status.start()
    try:
        yield
    finally:
        if status is not None:
            status.stop()
    log.info("%s (%.1f s)", message, time.perf_counter() - start)

"""Estimators used by tests through Hydra config (``model._target_=support....``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sklearn.linear_model import LogisticRegression


class SigtermOnFit(LogisticRegression):
    """A logistic regression whose fit delivers a real SIGTERM to its own process."""

    def fit(self, X, y, sample_weight=None):
        os.kill(os.getpid(), signal.SIGTERM)
        return super().fit(X, y, sample_weight)


class FailOnFit(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        raise RuntimeError("deliberate failure")


def lowercase(text: str) -> str:
    """A custom preprocessor: a function skops will not trust by default."""
    return text.lower()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def mlflow_process(args: Sequence[str], port: int, timeout: float = 120) -> Iterator[str]:
    """Run an ``mlflow`` command serving on 127.0.0.1:``port``; yield its base URL when up."""
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    proc = subprocess.Popen(
        [str(Path(bin_dir) / "mlflow"), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow exited: {proc.stderr.read()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mlflow did not answer within {timeout} s") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


class ExitOnFit(LogisticRegression):
    """A fit that ends its process abruptly, as the OOM killer would (no handlers run)."""

    def fit(self, X, y, sample_weight=None):
        os._exit(3)


class KillTrackerOnFit(LogisticRegression):
    """A fit during which the MLflow tracking process dies (SIGKILL: no handler runs)."""

    def fit(self, X, y, sample_weight=None):
        from stancelab import tracking_worker

        tracking_worker.worker()._proc.kill()
        tracking_worker.worker()._proc.wait()
        return super().fit(X, y, sample_weight)

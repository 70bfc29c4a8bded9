"""The MLflow run, kept by a second process while the training process builds, fits and scores.

Why: MLflow costs a tracked run 4-5 s whatever the data size: importing it (~1.3 s), opening
the SQLAlchemy store (~1-1.5 s), saving and logging the model (~1.5 s). Done in the training
process, that time adds to the fit; done here, it overlaps with the dataset build, the fit and
the evaluation, on the machine's other core. (A thread does not help: both sides hold the GIL.)

The training process talks to the worker through :class:`TrackingWorker`: JSON lines on the
worker's stdin, one operation each, done in order. The worker answers on its stdout only when
an operation fails and when a run ends; its stderr is the user's, so MLflow's warnings and the
worker's step lines (prefixed ``tracking:``) show as before. One worker serves every run of the
process (searches and in-process sweeps start it once); it quits when the process exits. If the
training process dies without ending its run, the worker sees its stdin close and ends the run
as KILLED.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stancelab.errors import StancelabError

log = logging.getLogger("stancelab")
PREFIX = "tracking: "
STOPPED = "the MLflow tracking process has stopped (see its messages above)"


class TrackingError(StancelabError):
    """MLflow failed in the tracking process; the message is MLflow's."""


# --------------------------------------------------------------------------- training side


class TrackingWorker:
    """The training process' handle on the worker: ``send`` operations, ``finish`` a run."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._replies: list[dict[str, Any]] = []

    def _process(self, start: bool) -> subprocess.Popen[bytes]:
        """The worker; a new one only when a run begins (``open``), never in the middle."""
        if self._proc is None or self._proc.poll() is not None:
            if not start:
                raise TrackingError(STOPPED)
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "stancelab.tracking_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            self._buffer, self._replies = b"", []
        return self._proc

    def send(self, op: str, **fields: Any) -> None:
        proc = self._process(start=op == "open")
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({"op": op, **fields}).encode("utf-8") + b"\n")
            proc.stdin.flush()
        except BrokenPipeError:
            raise TrackingError(STOPPED) from None

    def _read(self, timeout: float | None) -> None:
        """Move complete reply lines from the pipe to ``_replies`` (wait up to ``timeout``)."""
        proc = self._process(start=False)
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return
            chunk = os.read(fd, 65536)
            if not chunk:
                raise TrackingError(STOPPED)
            self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        self._replies += [json.loads(line) for line in lines if line.strip()]

    def check(self) -> None:
        """Raise now if an operation has already failed (does not wait); the run is ended."""
        self._read(timeout=0)
        if any("error" in reply for reply in self._replies):
            self.finish("FAILED")  # raises the worker's first error

    def finish(self, status: str, register: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """End the run; wait until everything sent before is logged. Returns the run's ids.

        Raises the first error of the run's operations, if one failed (the worker has then
        ended the run as FAILED).
        """
        self.send("end", status=status, register=dict(register or {}))
        while not any(reply.get("op") == "end" for reply in self._replies):
            self._read(timeout=None)
        replies, self._replies = self._replies, []
        errors = [reply["error"] for reply in replies if "error" in reply]
        if errors:
            raise TrackingError(f"MLflow tracking failed: {errors[0]}")
        return replies[-1]

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.close()  # the worker then closes an abandoned run and exits
                self._proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()


_WORKER: TrackingWorker | None = None


def worker() -> TrackingWorker:
    """The process' one worker (started on first use, closed at exit)."""
    global _WORKER
    if _WORKER is None:
        _WORKER = TrackingWorker()
        atexit.register(_WORKER.close)
    return _WORKER


def write_model(path: Path, model: Any, example: Any, check: Any) -> Path:
    """Hand the fitted model to the worker: a pickle in the run's private temporary folder.

    Pickle is fast and safe here (the worker reads a file this process wrote moments before);
    what gets logged is a skops file, written by the worker.
    """
    with open(path, "wb") as fh:
        pickle.dump({"model": model, "example": example, "check": check}, fh, protocol=5)
    return path


# --------------------------------------------------------------------------- worker side


class _Run:
    """The worker's state: the store, the active run and what it logged."""

    def __init__(self) -> None:
        self.run_id: str | None = None
        self.model_uri: str | None = None
        self.failed: str | None = None

    def open(self, uri: str, experiment: str, modules: list[str], path: list[str]) -> None:
        from stancelab.progress import step

        sys.path += [p for p in path if p not in sys.path]  # to unpickle the user's own classes
        if modules:  # what unpickling and saving the model need, imported while the fit runs;
            import importlib  # skops first: its import scans every loaded module, and MLflow

            from stancelab.persistence import skops_io  # adds ~2,000 (a second or two more)

            skops_io()
            for name in modules:  # a wrong name is the training process' error to report
                with contextlib.suppress(ImportError):
                    importlib.import_module(name)
        with step(PREFIX + "MLflow store opened"):
            os.environ["MLFLOW_TRACKING_URI"] = uri  # the training process' choice wins here
            from stancelab import tracking

            tracking.configure({"enabled": True, "uri": uri, "experiment": experiment})
        if modules:  # the model will be logged: load and index now what logging it needs
            import mlflow.pyfunc  # noqa: F401

            from stancelab._compat import warm_mlflow_requirements

            warm_mlflow_requirements()

    def start(
        self,
        run_name: str,
        tags: dict[str, str],
        params: dict[str, str],
        texts: dict[str, str],
        datasets: list[dict[str, Any]],
    ) -> None:
        import mlflow

        from stancelab import tracking

        run = mlflow.start_run(run_name=run_name, tags=tags)
        self.run_id = run.info.run_id
        mlflow.log_params(params)
        for name, text in texts.items():
            mlflow.log_text(text, name)
        tracking.log_datasets(datasets)

    def model(self, path: str, name: str, meta: dict[str, Any]) -> None:
        import mlflow

        from stancelab import tracking
        from stancelab.progress import step

        with step(PREFIX + "model logged"), open(path, "rb") as fh:
            parts = pickle.load(fh)  # written by the training process: see write_model
            self.model_uri = tracking.log_model(
                parts["model"], parts["example"], name, meta, check=parts["check"]
            )
            mlflow.set_tag("stancelab.model_uri", self.model_uri)

    def metrics(self, metrics: dict[str, float]) -> None:
        import mlflow

        mlflow.log_metrics(metrics)

    def artifacts(self, folder: str) -> None:
        import mlflow

        mlflow.log_artifacts(folder)

    def end(self, status: str, register: dict[str, Any]) -> dict[str, Any]:
        import mlflow

        if self.failed and status == "FINISHED":
            status = "FAILED"
        if mlflow.active_run() is not None:
            mlflow.end_run(status=status)
        reply: dict[str, Any] = {
            "op": "end",
            "run_id": self.run_id,
            "model_uri": self.model_uri,
            "registered": None,
        }
        if self.failed:
            reply["error"] = self.failed
        elif status == "FINISHED" and register.get("enabled") and self.model_uri:
            from stancelab import tracking

            version = tracking.register(self.model_uri, register["name"], register.get("alias"))
            reply["registered"] = (
                f"models:/{register['name']}@{register['alias']}"
                if register.get("alias")
                else f"models:/{register['name']}/{version}"
            )
        self.run_id, self.model_uri, self.failed = None, None, None
        return reply

    def abandon(self) -> None:
        """The training process went away: close its run as KILLED."""
        try:
            import mlflow

            if mlflow.active_run() is not None:
                mlflow.end_run(status="KILLED")
        except Exception:  # nothing left to tell anyone; do not hang the exit
            pass


def serve() -> None:
    """The worker's loop: read operations until stdin closes."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr  # whatever MLflow prints must not mix with the replies
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the training process' to handle
    logging.basicConfig(format="%(message)s", level=logging.WARNING, stream=sys.stderr)
    log.setLevel(logging.INFO)
    run = _Run()
    for line in sys.stdin:
        message = json.loads(line)
        op = message.pop("op")
        if run.failed and op != "end":
            continue  # the run is already lost; report it at its end
        try:
            reply = getattr(run, op)(**message)
        except Exception as err:  # reported to the training process
            run.failed = f"{type(err).__name__}: {err}"
            reply = {"op": op, "error": run.failed}
        if reply is not None:
            replies.write(json.dumps(reply) + "\n")
            replies.flush()
    run.abandon()
    # Everything is logged and the store's connections are closed with their runs: skip the
    # interpreter's teardown of MLflow, scikit-learn and pandas (1-2 s the training process
    # would otherwise wait for at its exit).
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    serve()

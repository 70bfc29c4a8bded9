"""The logged model served over REST by ``mlflow models serve`` answers with stances and scores."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(trained, tmp_path):
    mlflow.set_tracking_uri(trained["uri"])
    model = mlflow.artifacts.download_artifacts(trained["result"].model_uri,
                                                dst_path=str(tmp_path / "model"))
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    mlflow_cli = shutil.which("mlflow", path=bin_dir) or "mlflow"
    proc = subprocess.Popen([mlflow_cli, "models", "serve", "-m", model, "--env-manager", "local",
                             "-h", "127.0.0.1", "-p", str(port), "-w", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("server did not start within 120 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def post(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/invocations", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.slow
def test_rest_invocations_return_stance_and_scores(server):
    status, body = post(server, {"dataframe_split": {
        "columns": ["text", "target"],
        "data": [["Rome ruled out sending any soldiers.", "troop deployment to Ukraine"],
                 ["London froze more assets.", "sanctions on Russia"]]}})
    assert status == 200, body
    rows = body["predictions"]
    assert [r["target"] for r in rows] == ["troop deployment to Ukraine", "sanctions on Russia"]
    for row in rows:
        assert row["stance"] in {"favor", "against", "none"}
        assert abs(row["favor"] + row["against"] + row["none"] - 1) < 1e-6
    status, body = post(server, {"dataframe_records": [{"text": "Oslo may send trainers."}]})
    assert status == 200 and body["predictions"][0]["target"] == "troop deployment to Ukraine"
    status, body = post(server, {"dataframe_records": [{"text": "x", "target": "climate"}]})
    assert status >= 400 and "no model for target" in json.dumps(body)

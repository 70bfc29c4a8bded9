"""Over HTTP: the logged model served by ``mlflow models serve``, and the MLflow UI's server."""

from __future__ import annotations

import json
import urllib.request

import mlflow
import pytest

from support import free_port, mlflow_process


def call(url: str, payload: dict | None = None) -> tuple[int, dict | str]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            body = resp.read().decode()
            status = resp.status
    except urllib.error.HTTPError as err:
        body, status = err.read().decode(), err.code
    try:
        return status, json.loads(body)
    except json.JSONDecodeError:
        return status, body


@pytest.mark.slow
def test_rest_invocations_return_stance_and_scores(trained, tmp_path):
    mlflow.set_tracking_uri(trained["uri"])
    model = mlflow.artifacts.download_artifacts(
        trained["result"].model_uri, dst_path=str(tmp_path / "model")
    )
    port = free_port()
    args = [
        "models",
        "serve",
        "-m",
        model,
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-w",
        "1",
    ]
    with mlflow_process(args, port) as url:
        status, body = call(
            f"{url}/invocations",
            {
                "dataframe_split": {
                    "columns": ["text", "target"],
                    "data": [
                        ["Rome ruled out sending any soldiers.", "troop deployment to Ukraine"],
                        ["London froze more assets.", "sanctions on Russia"],
                    ],
                }
            },
        )
        assert status == 200, body
        rows = body["predictions"]
        assert [r["target"] for r in rows] == ["troop deployment to Ukraine", "sanctions on Russia"]
        for row in rows:
            assert row["stance"] in {"favor", "against", "none"}
            assert abs(row["favor"] + row["against"] + row["none"] - 1) < 1e-6
        status, body = call(
            f"{url}/invocations", {"dataframe_records": [{"text": "Oslo may send trainers."}]}
        )
        assert status == 200
        assert body["predictions"][0]["target"] == "troop deployment to Ukraine"
        status, body = call(
            f"{url}/invocations", {"dataframe_records": [{"text": "x", "target": "climate"}]}
        )
        assert status == 400, body
        assert body["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "Error: no model for target(s) 'climate'; this model knows" in body["message"]
        assert "stack_trace" not in body and "Traceback" not in json.dumps(body)


@pytest.mark.slow
def test_mlflow_ui_server_lists_the_run_with_params_metrics_and_model(trained):
    result = trained["result"]
    port = free_port()
    args = [
        "server",
        "--backend-store-uri",
        trained["uri"],
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with mlflow_process(args, port) as url:
        status, page = call(f"{url}/")
        assert status == 200 and "<html" in str(page).lower()
        status, body = call(
            f"{url}/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=stancelab"
        )
        experiment_id = body["experiment"]["experiment_id"]
        status, body = call(
            f"{url}/ajax-api/2.0/mlflow/runs/search", {"experiment_ids": [experiment_id]}
        )
        run = next(r for r in body["runs"] if r["info"]["run_id"] == result.run_id)
        params = {p["key"]: p["value"] for p in run["data"]["params"]}
        metrics = {m["key"] for m in run["data"]["metrics"]}
        assert params["choices.model"] == "logreg" and {"test_macro_f1", "test_f_avg"} <= metrics
        status, body = call(
            f"{url}/ajax-api/2.0/mlflow/logged-models/search", {"experiment_ids": [experiment_id]}
        )
        assert status == 200, body
        sources = {m["info"]["source_run_id"] for m in body["models"]}
        assert result.run_id in sources

"""stancelab speed and scale benchmark: one command, figures printed and written to RESULTS.md.

    .venv/bin/python experiments/bench/run.py [--sizes 10000,100000,1000000] [--workdir DIR]
                                              [--quick] [--repeats N] [--sections ...]

Sections (see README.md beside this file):

* ``overhead``  wall time of ``stancelab train`` (a subprocess, MLflow tracking to a sqlite file)
  against ``plain_train.py`` (plain scikit-learn, same data file, same pipeline), at 10k and
  100k sentences, as a ratio;
* ``predict``   batch prediction throughput of ``stancelab.load(folder).predict`` against the bare
  fitted estimators (``predict_bench.py``), on 100k sentences;
* ``coldstart`` wall time of ``stancelab predict --model FOLDER "one sentence"`` and of
  ``python -c "import stancelab"`` as fresh processes, and whether MLflow gets imported;
* ``scale``     ``stancelab data build`` and ``stancelab train`` (hashing features + SGD) at each
  of ``--sizes``: wall time and peak RSS of each subprocess, with peak RSS per training step.

Every measured command is a fresh subprocess, timed from spawn to exit; its peak RSS comes from
``os.wait4`` (``ru_maxrss``), its RSS over time from ``/proc/PID/status`` sampled every 0.1 s.
The machine is shared: the CPU time other processes used during each measurement is recorded
("foreign load") so that contention is visible next to the figures.

Everything generated (corpora, dataset caches, MLflow stores, models, logs) goes under the work
folder (default ``/tmp/stancelab-bench``), never into the repository. Corpora are kept between
runs (they are deterministic); everything else is recreated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parents[1]
PY = Path(sys.executable)
STANCELAB = PY.parent / "stancelab"
TARGET = "troop deployment to Ukraine"
SENTENCE = "Paris will not rule out sending instructors to Ukraine."
GOALS = {"overhead": 1.3, "predict": 0.9, "coldstart": 2.0, "scale_gb": 4.0}
ENV_OVERRIDES = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "HF_HUB_OFFLINE": "1",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # stancelab train tags runs with `git rev-parse` / `git status`; this keeps git from
    # refreshing the repository's index file while it does so (read-only, same answers).
    "GIT_OPTIONAL_LOCKS": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
}
os.environ.update(ENV_OVERRIDES)
ENV = dict(os.environ)
ENV.pop("MLFLOW_TRACKING_URI", None)  # every command names its store explicitly
ENV.pop("STANCELAB_CONFIG_DIR", None)
HZ = os.sysconf("SC_CLK_TCK")
STEP_LINE = re.compile(r"^(?P<step>.+?) \((?P<seconds>\d+(?:\.\d+)?) s\)$")


# --------------------------------------------------------------------------- running commands


@dataclass
class Run:
    """One measured subprocess."""

    name: str
    cmd: list[str]
    wall: float = 0.0
    cpu: float = 0.0  # user + system seconds of the process and its waited-for children
    peak_rss_mb: float = 0.0
    rc: int | None = None
    timed_out: bool = False
    foreign_load: float = 0.0  # cores' worth of CPU used by other processes meanwhile
    steps: dict[str, float] = field(default_factory=dict)  # stancelab's own step timings
    step_peak_rss_mb: dict[str, float] = field(default_factory=dict)
    stdout: str = ""
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out

    def json_line(self) -> dict[str, Any]:
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    continue
        return {}


def _cpu_busy() -> int:
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (parts + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal


def _rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def run(
    name: str,
    cmd: list[str],
    cwd: Path,
    logs: Path,
    timeout: float | None = None,
    sample_rss: bool = True,
) -> Run:
    """Run ``cmd``; time it, get its peak RSS, its step lines and the foreign load."""
    result = Run(name, [str(c) for c in cmd])
    cwd.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    err_lines: list[tuple[float, str]] = []
    out_chunks: list[str] = []
    samples: list[tuple[float, int]] = []
    busy0 = _cpu_busy()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        result.cmd,
        cwd=cwd,
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    done = threading.Event()

    def read_err() -> None:
        for line in proc.stderr:
            err_lines.append((time.perf_counter() - t0, line.rstrip("\n")))

    def read_out() -> None:
        out_chunks.append(proc.stdout.read())

    def sample() -> None:
        while not done.wait(0.1):
            rss = _rss_kb(proc.pid)
            if rss:
                samples.append((time.perf_counter() - t0, rss))

    threads = [
        threading.Thread(target=read_err, daemon=True),
        threading.Thread(target=read_out, daemon=True),
    ]
    if sample_rss:
        threads.append(threading.Thread(target=sample, daemon=True))
    for t in threads:
        t.start()
    killer = None
    if timeout:

        def kill() -> None:
            result.timed_out = True
            proc.kill()

        killer = threading.Timer(timeout, kill)
        killer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    result.wall = time.perf_counter() - t0
    busy1 = _cpu_busy()
    done.set()
    if killer:
        killer.cancel()
    proc.returncode = result.rc = os.waitstatus_to_exitcode(status)
    for t in threads:
        t.join(timeout=10)
    result.cpu = usage.ru_utime + usage.ru_stime
    result.peak_rss_mb = usage.ru_maxrss / 1024
    machine_cpu = (busy1 - busy0) / HZ
    result.foreign_load = max(0.0, (machine_cpu - result.cpu) / max(result.wall, 1e-9))
    result.stdout = "".join(out_chunks)
    result.stderr_tail = "\n".join(line for _, line in err_lines[-15:])
    prev, first_start = 0.0, None
    for t, line in err_lines:
        m = STEP_LINE.match(line.strip())
        if not m:
            continue
        step = _step_name(m["step"])
        result.steps[step] = float(m["seconds"])
        start = max(prev, t - float(m["seconds"]))  # a step line is printed when it ends
        first_start = start if first_start is None else first_start
        window = [rss for ts, rss in samples if start - 0.05 <= ts <= t + 0.05]
        if window:
            result.step_peak_rss_mb[step] = max(window) / 1024
        prev = t
    before = [rss for ts, rss in samples if first_start is not None and ts < first_start]
    if before:
        result.step_peak_rss_mb = {
            "(start-up, before the first step)": max(before) / 1024,
            **result.step_peak_rss_mb,
        }
    after = [rss for ts, rss in samples if ts > prev] if result.steps else []
    if after:
        result.step_peak_rss_mb["(after last step)"] = max(after) / 1024
    log = logs / f"{name}.log"
    log.write_text(
        f"$ {shlex.join(result.cmd)}\n# cwd {cwd}\n# rc {result.rc} wall "
        f"{result.wall:.2f}s cpu {result.cpu:.2f}s peak {result.peak_rss_mb:.0f} MB "
        f"foreign {result.foreign_load:.2f}\n--- stdout\n{result.stdout}\n--- stderr\n"
        + "\n".join(f"[{t:8.2f}] {line}" for t, line in err_lines)
        + "\n"
    )
    status_text = "ok" if result.ok else ("TIMEOUT" if result.timed_out else f"rc={result.rc}")
    print(
        f"  {name:<44} {result.wall:8.2f} s  cpu {result.cpu:7.2f} s  peak "
        f"{result.peak_rss_mb:7.0f} MB  other load {result.foreign_load:4.2f}  {status_text}",
        flush=True,
    )
    return result


OVERLAPPED = "tracking process: "  # steps of the second process, in parallel with the others


def _step_name(message: str) -> str:
    """'fitted on 79350 sentences' → 'fit'; keeps the table's rows stable across sizes."""
    for prefix, name in (
        ("dataset", "dataset ready (read+validate+load)"),
        ("fitted", "fit"),
        ("evaluated on validation", "evaluate validation"),
        ("evaluated on test", "evaluate test"),
        ("model logged", "log model"),
        ("run logged", "wait for the tracking process to finish the run"),
        ("tracking: MLflow store opened", OVERLAPPED + "MLflow store opened"),
        ("tracking: model logged", OVERLAPPED + "log model"),
    ):
        if message.startswith(prefix):
            return name
    return message


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------- commands


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = Path(args.workdir).resolve()
        self.data = self.work / "data"
        self.logs = self.work / "logs"
        self.results: dict[str, Any] = {}
        self.model_dir: Path | None = None

    # -- helpers
    def corpus(self, n: int, seed: int = 0) -> Path:
        """The synthetic corpus of ``n`` sentences (kept between runs, keyed by generator)."""
        import hashlib

        tag = hashlib.sha256((BENCH / "make_corpus.py").read_bytes()).hexdigest()[:8]
        path = self.data / f"corpus-{n}-s{seed}-{tag}.jsonl"
        if not path.exists():
            t = time.perf_counter()
            subprocess.run(
                [str(PY), str(BENCH / "make_corpus.py"), str(n), str(path), "--seed", str(seed)],
                check=True,
                env=ENV,
                stdout=subprocess.DEVNULL,
            )
            print(f"  generated {path.name} ({time.perf_counter() - t:.1f} s)", flush=True)
        return path

    def train_cmd(self, data: Path, cache: Path, store: Path | None) -> list[str]:
        cmd = [
            str(STANCELAB),
            "train",
            "features=hashing",
            "model=sgd",
            "dataset=jsonl",
            f"dataset.path={data}",
            f"dataset.cache_dir={cache}",
            "json=true",
        ]
        cmd.append(f"tracking.uri=sqlite:///{store}" if store else "tracking=off")
        return cmd

    def init_store(self, store: Path) -> None:
        """Create an MLflow sqlite store with the 'stancelab' experiment (untimed)."""
        store.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(PY),
                "-c",
                "import mlflow,sys; mlflow.set_tracking_uri(sys.argv[1]); "
                "mlflow.set_experiment('stancelab')",
                f"sqlite:///{store}",
            ],
            check=True,
            env=ENV,
            cwd=store.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def download_model(self, store: Path, uri: str, dest: Path, cwd: Path) -> Path:
        if dest.exists():
            shutil.rmtree(dest)
        subprocess.run(
            [
                str(PY),
                "-c",
                "import mlflow,sys; mlflow.set_tracking_uri(sys.argv[1]); "
                "mlflow.artifacts.download_artifacts(sys.argv[2], dst_path=sys.argv[3])",
                f"sqlite:///{store}",
                uri,
                str(dest),
            ],
            check=True,
            env=ENV,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return dest

    def warm_page_cache(self) -> None:
        """Import the heavy libraries once, untimed, so that no first measurement reads them."""
        subprocess.run(
            [
                str(PY),
                "-c",
                "import sklearn.linear_model, sklearn.pipeline, pandas, "
                "mlflow, datasets, hydra, skops.io, matplotlib.pyplot, stancelab.training",
            ],
            env=ENV,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    # -- (a) framework overhead
    def overhead(self) -> None:
        repeats = self.args.repeats
        out: dict[str, Any] = {}
        for n in self.args.overhead_sizes:
            print(f"\n[overhead] {n} sentences, {repeats} repeat(s)", flush=True)
            data = self.corpus(n)
            base = self.work / "overhead" / str(n)
            shutil.rmtree(base, ignore_errors=True)
            store = base / "store" / "mlflow.db"
            self.init_store(store)
            warm_cache = base / "cache-shared"
            # build the shared dataset cache once, untimed, for the "cached dataset" variants
            subprocess.run(
                [
                    str(STANCELAB),
                    "data",
                    "build",
                    "dataset=jsonl",
                    f"dataset.path={data}",
                    f"dataset.cache_dir={warm_cache}",
                ],
                env=ENV,
                cwd=base,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            runs: dict[str, list[Run]] = {k: [] for k in self.args.variants}
            for rep in range(repeats):
                order = list(self.args.variants)
                order = order[rep % len(order) :] + order[: rep % len(order)]
                for variant in order:
                    tag = f"overhead-{n}-{variant}-{rep}"
                    cwd = base / "runs" / f"{variant}-{rep}"
                    if variant == "plain":
                        cmd = [str(PY), str(BENCH / "plain_train.py"), str(data)]
                    elif variant == "stancelab_new_data":
                        cmd = self.train_cmd(data, base / f"cache-{rep}", store)
                    elif variant == "stancelab_cached":
                        cmd = self.train_cmd(data, warm_cache, store)
                    elif variant == "stancelab_new_store":
                        fresh = base / f"store-{rep}" / "mlflow.db"
                        fresh.parent.mkdir(parents=True, exist_ok=True)
                        cwd = fresh.parent
                        cmd = self.train_cmd(data, base / f"cache-new-store-{rep}", fresh)
                    else:  # stancelab_tracking_off
                        cmd = self.train_cmd(data, warm_cache, None)
                    if variant in ("stancelab_new_data", "stancelab_cached"):
                        cwd = store.parent  # MLflow puts the store's artifacts under ./mlruns
                    runs[variant].append(run(tag, cmd, cwd, self.logs, timeout=self.args.timeout))
            out[str(n)] = summarise_overhead(runs)
            if out[str(n)]["same_scores"] is False:
                print("  WARNING: stancelab and the plain script disagree on scores", flush=True)
            print(
                f"  → stancelab/plain wall ratio (tracking on, new data): "
                f"{out[str(n)]['ratio_headline']:.2f}x",
                flush=True,
            )
            cached = [r for r in runs.get("stancelab_cached", runs["stancelab_new_data"]) if r.ok]
            uri = cached[-1].json_line().get("model_uri") if cached else None
            if uri and n == max(self.args.overhead_sizes):
                self.model_dir = self.download_model(store, uri, self.work / "model", store.parent)
                out["model_source"] = {"size": n, "uri": uri}
        self.results["overhead"] = out

    # -- model for predict / coldstart when overhead was not run
    def train_and_download(
        self, tag: str, cmd: list[str], base: Path, store: Path, dest: Path
    ) -> tuple[Path, str]:
        """Run a training command in a fresh ``base`` folder; download its model to ``dest``."""
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        r = run(tag, cmd, base, self.logs, timeout=self.args.timeout)
        uri = r.json_line().get("model_uri")
        if not uri:
            raise SystemExit(f"{tag} failed; see {self.logs}")
        return self.download_model(store, uri, dest, base), uri

    def ensure_model(self) -> Path:
        if self.model_dir and self.model_dir.exists():
            return self.model_dir
        source = self.results.get("overhead", {}).get("model_source")
        if source and (self.work / "model" / "MLmodel").exists():  # --merge: (a)'s model
            self.model_dir = self.work / "model"
            return self.model_dir
        n = max(self.args.overhead_sizes)
        print(f"\n[model] training a {n}-sentence model for predict/coldstart", flush=True)
        base = self.work / "model-train"
        store = base / "mlflow.db"
        self.model_dir, uri = self.train_and_download(
            f"model-train-{n}",
            self.train_cmd(self.corpus(n), base / "cache", store),
            base,
            store,
            self.work / "model",
        )
        self.results.setdefault("overhead", {})["model_source"] = {"size": n, "uri": uri}
        return self.model_dir

    def ensure_default_model(self) -> Path:
        """The Quick start's model (default config on the project corpus), for cold start."""
        dest = self.work / "model-default"
        if (dest / "MLmodel").exists():
            return dest
        print("\n[model] training the default model (Quick start) for coldstart", flush=True)
        base = self.work / "model-default-train"
        store = base / "mlflow.db"
        cmd = [
            str(STANCELAB),
            "train",
            f"paths.cache={base / 'cache'}",
            f"tracking.uri=sqlite:///{store}",
            "json=true",
        ]
        return self.train_and_download("model-train-default", cmd, base, store, dest)[0]

    # -- (b) batch prediction throughput
    def predict(self) -> None:
        model = self.ensure_model()
        n = self.args.predict_n
        print(f"\n[predict] {n} sentences, {self.args.predict_repeats} repeat(s)", flush=True)
        data = self.corpus(n, seed=101)
        r = run(
            f"predict-{n}",
            [
                str(PY),
                str(BENCH / "predict_bench.py"),
                str(model),
                str(data),
                str(n),
                str(self.args.predict_repeats),
                TARGET,
                str(self.args.predict_rounds),
            ],
            self.work / "predict",
            self.logs,
            timeout=self.args.timeout,
        )
        res = r.json_line()
        if not res:
            raise SystemExit(f"predict benchmark failed; see {self.logs}")
        sps = res["sentences_per_second"]
        res["ratio_vs_classifier"] = sps["predictor"] / sps["classifier"]
        res["ratio_vs_pipeline"] = sps["predictor"] / sps["pipeline"]
        cps = res["sentences_per_cpu_second"]
        res["cpu_ratio_vs_classifier"] = cps["predictor"] / cps["classifier"]
        res["cpu_ratio_vs_pipeline"] = cps["predictor"] / cps["pipeline"]
        mins = res["min_seconds"]
        res["best_ratio_vs_classifier"] = mins["classifier"] / mins["predictor"]
        res["foreign_load"] = r.foreign_load
        res["peak_rss_mb"] = r.peak_rss_mb
        for k in (
            "predictor",
            "classifier",
            "pipeline",
            "predict_frame",
            "predict_proba",
            "to_records",
            "lite",
        ):
            if k not in res["median_seconds"]:
                continue
            print(
                f"  {k:<14} {res['median_seconds'][k]:7.3f} s  {sps[k]:10.0f} sentences/s  "
                f"cpu {res['median_cpu_seconds'][k]:7.3f} s",
                flush=True,
            )
        print(
            f"  → Predictor.predict / StanceClassifier.predict throughput: "
            f"{res['ratio_vs_classifier']:.2f}x; / Pipeline.predict: "
            f"{res['ratio_vs_pipeline']:.2f}x; by CPU time {res['cpu_ratio_vs_classifier']:.2f}x"
            f" / {res['cpu_ratio_vs_pipeline']:.2f}x; paired rounds "
            f"{res['paired_ratio_median']['classifier']:.2f}x / "
            f"{res['paired_ratio_median']['pipeline']:.2f}x; same labels: {res['same_labels']}",
            flush=True,
        )
        self.results["predict"] = res

    # -- (c) cold start
    def coldstart(self) -> None:
        model = self.ensure_model()
        default_model = self.ensure_default_model()
        k = self.args.cold_repeats
        print(f"\n[coldstart] median of {k}", flush=True)
        cwd = self.work / "coldstart"
        cases = {
            "stancelab predict (local model folder)": [
                str(STANCELAB),
                "predict",
                "--model",
                str(model),
                SENTENCE,
            ],
            "stancelab predict (the Quick start's default model folder)": [
                str(STANCELAB),
                "predict",
                "--model",
                str(default_model),
                SENTENCE,
            ],
            "stancelab predict --engine sklearn (local model folder)": [
                str(STANCELAB),
                "predict",
                "--engine",
                "sklearn",
                "--model",
                str(model),
                SENTENCE,
            ],
            "stancelab predict --engine sklearn (the Quick start's default model folder)": [
                str(STANCELAB),
                "predict",
                "--engine",
                "sklearn",
                "--model",
                str(default_model),
                SENTENCE,
            ],
            'python -c "import stancelab"': [str(PY), "-c", "import stancelab"],
            'floor of the lite engine: python -c "import numpy"': [str(PY), "-c", "import numpy"],
            "floor: import the model's sklearn modules + pandas": [
                str(PY),
                "-c",
                "import pandas, sklearn.pipeline, sklearn.compose, "
                "sklearn.linear_model, sklearn.feature_extraction.text, sklearn.preprocessing",
            ],
            "floor: the same imports, exit without teardown (as stancelab's CLI does)": [
                str(PY),
                "-c",
                "import os, pandas, sklearn.pipeline, sklearn.compose, "
                "sklearn.linear_model, sklearn.feature_extraction.text, sklearn.preprocessing; "
                "os._exit(0)",
            ],
            "import skops.io (upstream: walks all of scikit-learn)": [
                str(PY),
                "-c",
                "import skops.io",
            ],
            "import skops.io as stancelab does (persistence.skops_io)": [
                str(PY),
                "-c",
                "from stancelab.persistence import skops_io; skops_io()",
            ],
            'python -c "pass" (interpreter)': [str(PY), "-c", "pass"],
        }
        run("coldstart-warmup", cases["stancelab predict (local model folder)"], cwd, self.logs)
        out: dict[str, Any] = {"cases": {}}
        runs: dict[str, list[Run]] = {c: [] for c in cases}
        for i in range(k):
            for j, (case, cmd) in enumerate(cases.items()):
                runs[case].append(run(f"coldstart-{j}-{i}", cmd, cwd, self.logs, sample_rss=False))
        for case, rs in runs.items():
            ok = [r for r in rs if r.ok]
            out["cases"][case] = {
                "median_seconds": med([r.wall for r in ok]),
                "all_seconds": [r.wall for r in rs],
                "cpu_median_seconds": med([r.cpu for r in ok]),
                "peak_rss_mb": med([r.peak_rss_mb for r in ok]),
                "ok": len(ok) == len(rs),
                "foreign_load": med([r.foreign_load for r in rs]),
            }
        pred = runs["stancelab predict (local model folder)"][-1]
        out["prediction_output"] = pred.stdout.strip()[:300]
        out["imports"] = self.import_report(model, cwd)
        self.results["coldstart"] = out
        headline = out["cases"]["stancelab predict (local model folder)"]["median_seconds"]
        print(
            f"  → stancelab predict cold start: {headline:.2f} s; mlflow imported: "
            f"{out['imports']['mlflow_imported']}",
            flush=True,
        )

    def import_report(self, model: Path, cwd: Path) -> dict[str, Any]:
        """What ``stancelab predict`` on a folder imports (python -X importtime, sys.modules)."""
        argv = ["stancelab", "predict", "--model", str(model), SENTENCE]
        probe = (
            "import json, sys\nsys.argv = json.loads(sys.argv[1])\n"
            "from stancelab.cli import main\nmain(sys.argv[1:])\n"
            "top = sorted({m.split('.')[0] for m in sys.modules})\n"
            "print('MODULES ' + json.dumps({'count': len(sys.modules), 'top': top}), "
            "file=sys.stderr)\n"
        )
        proc = subprocess.run(
            [str(PY), "-X", "importtime", "-c", probe, json.dumps(argv)],
            cwd=cwd,
            env=ENV,
            capture_output=True,
            text=True,
        )
        (self.logs / "coldstart-importtime.txt").write_text(proc.stderr)
        modules: dict[str, Any] = {}
        per_package: dict[str, float] = {}
        for line in proc.stderr.splitlines():
            if line.startswith("MODULES "):
                modules = json.loads(line[len("MODULES ") :])
            elif line.startswith("import time:") and "|" in line:
                parts = line[len("import time:") :].split("|")
                try:
                    self_us = int(parts[0])
                except ValueError:
                    continue
                package = parts[2].strip().split(".")[0]
                per_package[package] = per_package.get(package, 0.0) + self_us / 1e6
        top = sorted(per_package.items(), key=lambda kv: -kv[1])[:10]
        return {
            "mlflow_imported": "mlflow" in modules.get("top", []),
            "module_count": modules.get("count"),
            "heavy_packages_imported": [
                p
                for p in (
                    "mlflow",
                    "sklearn",
                    "skops",
                    "scipy",
                    "pandas",
                    "pyarrow",
                    "datasets",
                    "hydra",
                    "omegaconf",
                    "matplotlib",
                )
                if p in modules.get("top", [])
            ],
            "import_seconds_by_package": dict(top),
            "import_seconds_total": sum(per_package.values()),
        }

    # -- (d) scale
    def scale(self) -> None:
        out: dict[str, Any] = {}
        store = self.work / "scale" / "store" / "mlflow.db"
        shutil.rmtree(store.parent.parent, ignore_errors=True)
        self.init_store(store)
        for n in self.args.sizes:
            print(f"\n[scale] {n} sentences", flush=True)
            t = time.perf_counter()
            data = self.corpus(n)
            gen = time.perf_counter() - t
            cache = self.work / "scale" / str(n) / "cache"
            build = run(
                f"scale-{n}-data-build",
                [
                    str(STANCELAB),
                    "data",
                    "build",
                    "dataset=jsonl",
                    f"dataset.path={data}",
                    f"dataset.cache_dir={cache}",
                ],
                store.parent,
                self.logs,
                timeout=self.args.timeout,
            )
            train = (
                run(
                    f"scale-{n}-train",
                    self.train_cmd(data, cache, store),
                    store.parent,
                    self.logs,
                    timeout=self.args.timeout,
                )
                if build.ok
                else None
            )
            summary = train.json_line() if train else {}
            metrics = summary.get("metrics", {})
            out[str(n)] = {
                "file_mb": data.stat().st_size / 2**20,
                "build": _brief(build),
                "train": _brief(train) if train else None,
                "fit_seconds": metrics.get("fit_seconds"),
                "val_macro_f1": metrics.get("val_macro_f1"),
                "test_macro_f1": metrics.get("test_macro_f1"),
                "total_seconds": build.wall + (train.wall if train else 0.0),
                "peak_rss_mb": max(build.peak_rss_mb, train.peak_rss_mb if train else 0.0),
                "ok": build.ok and bool(train and train.ok),
                "corpus_seconds_if_generated": gen,
            }
            try:
                card = next(cache.glob("*/build.json"))
                counts = json.loads(card.read_text())["counts"]
                out[str(n)]["split_sizes"] = {
                    s: sum(sum(c.values()) for c in per.values()) for s, per in counts.items()
                }
            except (StopIteration, OSError, KeyError, ValueError):
                pass
            shutil.rmtree(cache, ignore_errors=True)  # 1M-row caches are large; keep the disk
            print(
                f"  → build + train {out[str(n)]['total_seconds']:.1f} s, peak "
                f"{out[str(n)]['peak_rss_mb']:.0f} MB",
                flush=True,
            )
        self.results["scale"] = out
        if self.args.sizes:
            self.memory(max(self.args.sizes))

    # -- where memory goes, at the largest size
    def memory(self, n: int) -> None:
        print(f"\n[memory] peak RSS by stage at {n} sentences", flush=True)
        cache = self.work / "memory" / "cache"
        shutil.rmtree(cache.parent, ignore_errors=True)
        r = run(
            f"memory-stages-{n}",
            [str(PY), str(BENCH / "memory_stages.py"), str(self.corpus(n)), str(cache)],
            self.work / "memory",
            self.logs,
            timeout=self.args.timeout,
        )
        res = r.json_line()
        shutil.rmtree(cache.parent, ignore_errors=True)
        if res:
            res["size"] = n
            res["process_peak_rss_mb"] = r.peak_rss_mb
            self.results["memory"] = res


VARIANTS = (
    "plain",
    "stancelab_new_data",
    "stancelab_cached",
    "stancelab_tracking_off",
    "stancelab_new_store",
)
VARIANT_TEXT = {
    "plain": "plain scikit-learn script (plain_train.py)",
    "stancelab_new_data": "stancelab train, tracking on, existing store, dataset built",
    "stancelab_cached": "stancelab train, tracking on, existing store, dataset cached",
    "stancelab_tracking_off": "stancelab train tracking=off, dataset cached",
    "stancelab_new_store": "stancelab train, tracking on, new store, dataset built",
}
SHORT = {
    "stancelab_new_data": "tracking on, dataset built",
    "stancelab_cached": "tracking on, dataset cached",
    "stancelab_tracking_off": "tracking off, dataset cached",
    "stancelab_new_store": "new store, dataset built",
}


def _brief(r: Run) -> dict[str, Any]:
    return {
        "wall": r.wall,
        "cpu": r.cpu,
        "peak_rss_mb": r.peak_rss_mb,
        "ok": r.ok,
        "rc": r.rc,
        "timed_out": r.timed_out,
        "foreign_load": r.foreign_load,
        "steps": r.steps,
        "step_peak_rss_mb": r.step_peak_rss_mb,
        "stderr_tail": "" if r.ok else r.stderr_tail,
    }


def summarise_overhead(runs: dict[str, list[Run]]) -> dict[str, Any]:
    out: dict[str, Any] = {"variants": {}}
    for variant, rs in runs.items():
        ok = [r for r in rs if r.ok]
        steps: dict[str, list[float]] = {}
        for r in ok:
            for s, v in r.steps.items():
                steps.setdefault(s, []).append(v)
        out["variants"][variant] = {
            "wall_median": med([r.wall for r in ok]),
            "wall_all": [r.wall for r in rs],
            "cpu_median": med([r.cpu for r in ok]),
            "peak_rss_mb_median": med([r.peak_rss_mb for r in ok]),
            "foreign_load_median": med([r.foreign_load for r in rs]),
            "ok": len(ok),
            "runs": len(rs),
            "steps_median": {s: med(v) for s, v in steps.items()},
        }
    plain = out["variants"]["plain"]
    for name, v in out["variants"].items():
        v["ratio_wall"] = v["wall_median"] / plain["wall_median"]
        v["ratio_cpu"] = v["cpu_median"] / plain["cpu_median"]
        # Per round: this variant's time over the plain script's in the same round (minutes
        # apart, not tens of minutes), which cancels much of the machine's drifting load.
        v["ratio_paired_all"] = [
            a.wall / b.wall
            for a, b in zip(runs[name], runs["plain"], strict=False)
            if a.ok and b.ok
        ]
        v["ratio_paired"] = med(v["ratio_paired_all"])
    plain_json = [r.json_line() for r in runs["plain"] if r.ok]
    out["plain_phases_median"] = {
        k: med([j[k] for j in plain_json if k in j])
        for k in ("import_seconds", "read_seconds", "fit_seconds", "evaluate_seconds")
    }
    stance = [r.json_line().get("metrics", {}) for r in runs["stancelab_new_data"] if r.ok]
    if plain_json and stance:
        diffs = [
            abs(plain_json[0][f"{p}_macro_f1"] - stance[0][f"{p}_macro_f1"])
            for p in ("val", "test")
        ]
        out["same_scores"] = max(diffs) < 1e-9
        out["scores"] = {
            "plain": {k: plain_json[0][k] for k in ("val_macro_f1", "test_macro_f1")},
            "stancelab": {k: stance[0][k] for k in ("val_macro_f1", "test_macro_f1")},
        }
    else:
        out["same_scores"] = None
    out["ratio_headline"] = out["variants"]["stancelab_new_data"]["ratio_wall"]
    return out


# --------------------------------------------------------------------------- machine and report


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version()}
    try:
        text = Path("/proc/cpuinfo").read_text()
        names = re.findall(r"^model name\s*:\s*(.+)$", text, re.M)
        info["cpu_model"] = names[0] if names else platform.processor()
        mhz = re.findall(r"^cpu MHz\s*:\s*(.+)$", text, re.M)
        if mhz:
            info["cpu_mhz"] = float(mhz[0])
    except OSError:
        info["cpu_model"] = platform.processor()
    info["cores"] = os.cpu_count()
    info["cores_usable"] = len(os.sched_getaffinity(0))
    try:
        mem = Path("/proc/meminfo").read_text()
        info["ram_gb"] = int(re.search(r"MemTotal:\s+(\d+)", mem)[1]) / 2**20
    except (OSError, TypeError):
        pass
    try:
        info["cgroup_cpu_max"] = Path("/sys/fs/cgroup/cpu.max").read_text().strip()
    except OSError:
        info["cgroup_cpu_max"] = "none"
    versions = {}
    for p in (
        "stancelab",
        "scikit-learn",
        "mlflow",
        "datasets",
        "hydra-core",
        "omegaconf",
        "skops",
        "pandas",
        "numpy",
        "scipy",
        "pyarrow",
        "matplotlib",
    ):
        try:
            versions[p] = version(p)
        except PackageNotFoundError:
            versions[p] = "not installed"
    info["versions"] = versions
    info["loadavg_start"] = os.getloadavg()
    return info


def fmt_mb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def fmt_n(n: int | str) -> str:
    n = int(n)
    return (
        f"{n // 1_000_000}M"
        if n >= 1_000_000 and n % 1_000_000 == 0
        else (f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))
    )


def yes(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def report(bench: Bench, started: float, command: str) -> str:
    r = bench.results
    m = r["machine"]
    runs = r.get("runs") or {
        "all sections": {
            "command": command,
            "date": r["date"],
            "minutes": (time.time() - started) / 60,
        }
    }
    by_command: dict[tuple[str, str], list[str]] = {}
    minutes: dict[tuple[str, str], float] = {}
    for section, info in runs.items():
        key = (info["command"], info["date"])
        by_command.setdefault(key, []).append(section)
        # a run from before per-section timing records its total for every section
        minutes[key] = (max if "elapsed" in info else lambda a, b: a + b)(
            minutes.get(key, 0.0), info["minutes"]
        )
    lines = ["# stancelab speed and scale benchmark: results", ""]
    for (cmd, when), sections in by_command.items():
        lines += [
            f"Section{'s' if len(sections) > 1 else ''} {', '.join(sections)} measured with",
            "",
            "```",
            cmd,
            f"# {when}, {minutes[(cmd, when)]:.1f} min",
            "```",
            "",
        ]
    lines += [
        f"Python and libraries as listed under Machine. How to read this: "
        "[README.md](README.md). Raw figures: `results.json` beside this file; logs of every "
        f"command in the work folder (`{bench.work}/logs`, not kept in the repository).",
        "",
    ]
    if bench.args.quick:
        lines += ["**Quick mode** (`--quick`): small sizes, a smoke test, not the benchmark.", ""]

    # summary of goals
    lines += ["## Goals", "", "| goal | target | measured | |", "|---|---|---|---|"]
    ov = r.get("overhead", {})
    big = str(max(bench.args.overhead_sizes))
    if big in ov:
        v = ov[big]["variants"]

        def figure(key: str) -> str:
            paired = v[key].get("ratio_paired")
            return f"{v[key]['ratio_wall']:.2f}x" + (
                f" (per round {paired:.2f}x)" if paired else ""
            )

        for key, what in (
            (
                "stancelab_cached",
                "on a dataset already built (a second run on "
                "the same data, or after `stancelab data build`)",
            ),
            (
                "stancelab_new_data",
                "on new data: the run also builds the dataset "
                "(validate, deduplicate, split, write)",
            ),
        ):
            if key in v:
                met = yes(v[key]["ratio_wall"] <= GOALS["overhead"])
                lines.append(
                    f"| a. framework overhead, `stancelab train` (tracking on) / plain "
                    f"script, {fmt_n(big)} sentences, {what} | ≤ {GOALS['overhead']}x "
                    f"| {figure(key)} | {met} |"
                )
        if "stancelab_tracking_off" in v:
            lines.append(
                "| … the same with `tracking=off`, on a dataset already built | (no goal) "
                f"| {figure('stancelab_tracking_off')} | |"
            )
    if "predict" in r:
        p = r["predict"]
        paired = p.get("paired_ratio_median", {})
        decided = paired.get("classifier", p["ratio_vs_classifier"])
        # The paired rounds decide: medians of separate repeats drift with the machine's load
        # (the same code gave 0.85x and 1.26x in two runs), calls seconds apart much less.
        lines.append(
            f"| b. `Predictor.predict` throughput / bare `StanceClassifier.predict`, "
            f"{fmt_n(p['n'])} sentences, median of paired rounds | "
            f"≥ {GOALS['predict']}x | {decided:.2f}x (vs inner Pipeline: "
            f"{paired.get('pipeline', float('nan')):.2f}x); medians of separate "
            f"repeats {p['ratio_vs_classifier']:.2f}x ({p['ratio_vs_pipeline']:.2f}x), "
            f"by CPU time {p.get('cpu_ratio_vs_classifier', float('nan')):.2f}x "
            f"({p.get('cpu_ratio_vs_pipeline', float('nan')):.2f}x) | "
            f"{yes(decided >= GOALS['predict'])} |"
        )
    if "coldstart" in r:
        c = r["coldstart"]["cases"]
        s = c["stancelab predict (local model folder)"]["median_seconds"]
        i = c['python -c "import stancelab"']["median_seconds"]
        lines.append(
            f'| c. cold start, `stancelab predict --model FOLDER "…"` (a\'s model) | < '
            f"{GOALS['coldstart']:.0f} s | {s:.2f} s | {yes(s < GOALS['coldstart'])} |"
        )
        d = c.get("stancelab predict (the Quick start's default model folder)")
        if d:
            d = d["median_seconds"]
            lines.append(
                f"| c. cold start, the same with the Quick start's default model | < "
                f"{GOALS['coldstart']:.0f} s | {d:.2f} s | "
                f"{yes(d < GOALS['coldstart'])} |"
            )
        lines.append(
            f'| c. cold start, `python -c "import stancelab"` | < '
            f"{GOALS['coldstart']:.0f} s | {i:.2f} s | {yes(i < GOALS['coldstart'])} |"
        )
    if "scale" in r:
        sc = r["scale"]
        largest = str(max(bench.args.sizes))
        if largest in sc:
            e = sc[largest]
            ok = e["ok"] and e["peak_rss_mb"] < GOALS["scale_gb"] * 1024
            lines.append(
                f"| d. {fmt_n(largest)} sentences build + train finish, peak RSS "
                f"| < {GOALS['scale_gb']:.0f} GB | "
                f"{'finished' if e['ok'] else 'FAILED'}, {fmt_mb(e['peak_rss_mb'])} "
                f"| {yes(ok)} |"
            )
    lines.append("")

    if ov:
        lines += [
            "## a. Framework overhead",
            "",
            "Same data file, same scikit-learn pipeline (`features=hashing model=sgd`, "
            "joint target mode), each command a fresh process; medians of "
            f"{bench.args.repeats} run(s). Ratios are to the plain script's median. "
            "CPU = user + system time of the process (less sensitive to other load on "
            "the machine than wall time). 'Other load' = cores busy with other processes "
            "during the run.",
            "",
        ]
        for n, o in ov.items():
            if n == "model_source":
                continue
            lines += [
                f"### {fmt_n(n)} sentences",
                "",
                "| command | wall (median) | ratio | ratio per round (median; all) "
                "| CPU | CPU ratio | peak RSS | other load | runs |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for variant, v in o["variants"].items():
                walls = ", ".join(f"{w:.1f}" for w in v["wall_all"])
                paired = ", ".join(f"{x:.2f}" for x in v.get("ratio_paired_all", []))
                lines.append(
                    f"| {VARIANT_TEXT[variant]} | {v['wall_median']:.1f} s ({walls}) | "
                    f"{v['ratio_wall']:.2f}x | {v.get('ratio_paired', 1.0):.2f}x "
                    f"({paired}) | {v['cpu_median']:.1f} s | "
                    f"{v['ratio_cpu']:.2f}x | {fmt_mb(v['peak_rss_mb_median'])} | "
                    f"{v['foreign_load_median']:.2f} | {v['ok']}/{v['runs']} |"
                )
            pp = o["plain_phases_median"]
            sv = o["variants"]
            shown = [v for v in VARIANTS if v in sv and v != "plain"]
            lines += [
                "",
                "Where the time goes (medians, seconds). Plain script: "
                + ", ".join(f"{k.replace('_seconds', '')} {v:.1f}" for k, v in pp.items())
                + ". stancelab's own step lines:",
                "",
                "| step | " + " | ".join(SHORT[v] for v in shown) + " |",
                "|---|" + "---:|" * len(shown),
            ]
            names = []
            for variant in shown:
                names += [s for s in sv[variant]["steps_median"] if s not in names]
            for step in names:
                cells = [sv[v]["steps_median"].get(step) for v in shown]
                lines.append(
                    f"| {step} | "
                    + " | ".join("" if c is None else f"{c:.1f}" for c in cells)
                    + " |"
                )
            rest = [
                sv[v]["wall_median"]
                - sum(t for s, t in sv[v]["steps_median"].items() if not s.startswith(OVERLAPPED))
                for v in shown
            ]
            lines.append(
                "| everything else in the training process (start-up, imports, "
                "Hydra, handing the run to the tracking process, exit) | "
                + " | ".join(f"{x:.1f}" for x in rest)
                + " |"
            )
            if o.get("scores"):
                lines += [
                    "",
                    f"Same pipeline check: validation / test macro-F1, plain "
                    f"{o['scores']['plain']['val_macro_f1']:.4f} / "
                    f"{o['scores']['plain']['test_macro_f1']:.4f}, stancelab "
                    f"{o['scores']['stancelab']['val_macro_f1']:.4f} / "
                    f"{o['scores']['stancelab']['test_macro_f1']:.4f} "
                    f"({'identical' if o['same_scores'] else 'DIFFERENT'}).",
                ]
            lines.append("")

    if "predict" in r:
        p = r["predict"]
        sps, ms = p["sentences_per_second"], p["median_seconds"]
        lines += [
            "## b. Batch prediction throughput",
            "",
            f"Model: the {fmt_n(ov.get('model_source', {}).get('size', 0))}-sentence model "
            f"from (a), downloaded to a local folder. {fmt_n(p['n'])} synthetic sentences "
            f"(not the training data), one target; median of {p['repeats']} repeats, "
            f"rotated order, after a warm-up. Loading the model took "
            f"{p['load_seconds']:.1f} s (not included). Other load during the run: "
            f"{p['foreign_load']:.2f} cores.",
            "",
            "The same call's time varies by up to 2x between repeats on this machine "
            "(every repeat's wall time is shown), so medians of separate repeats move "
            "between runs of the same code (0.85x and 1.26x today); the goal is judged on "
            "the paired rounds below (calls compared within seconds of each other). The "
            "process' own CPU time is given too.",
            "",
            "| call | wall, median (all) | sentences/s | vs StanceClassifier.predict "
            "| CPU, median | vs StanceClassifier.predict, by CPU |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        rows = [
            ("predictor", "`stancelab.load(folder).predict(list, target=…)`"),
            ("classifier", "`predictor.model.predict(DataFrame)` (bare StanceClassifier)"),
            ("pipeline", "`predictor.model.estimator_.predict(DataFrame)` (inner Pipeline)"),
            ("predict_frame", "`predictor.predict_frame(list, target=…)`"),
            ("predict_proba", "`predictor.predict_proba(list, target=…)`"),
            ("to_records", '`frame.to_dict(orient="records")` (inside `predict`)'),
            (
                "lite",
                '`stancelab.load(folder, engine="lite").predict(list, target=…)` '
                "(the NumPy-only copy, as `stancelab predict` uses it)",
            ),
        ]
        cps, mc = p.get("sentences_per_cpu_second", {}), p.get("median_cpu_seconds", {})
        for key, text in rows:
            if key not in p["times"]:
                continue
            every = ", ".join(f"{x:.2f}" for x in p["times"][key])
            cpu_cells = f"{mc[key]:.2f} s | {cps[key] / cps['classifier']:.2f}x" if cps else "— | —"
            lines.append(
                f"| {text} | {ms[key]:.2f} s ({every}) | {sps[key]:,.0f} | "
                f"{sps[key] / sps['classifier']:.2f}x | {cpu_cells} |"
            )
        if "paired_ratios" in p:
            pr = p["paired_ratios"]
            lines += [
                "",
                f"**Paired rounds** ({p['paired_rounds']} rounds, `predictor`, "
                "`classifier` and `pipeline` back to back in rotating order; per round, "
                "Predictor throughput / bare throughput):",
                "",
                "| compared with | median ratio (wall) | per round | median ratio (CPU) |",
                "|---|---:|---|---:|",
            ]
            for bare, text in (
                ("classifier", "bare StanceClassifier.predict"),
                ("pipeline", "inner Pipeline.predict"),
            ):
                lines.append(
                    f"| {text} | {p['paired_ratio_median'][bare]:.2f}x | "
                    + ", ".join(f"{x:.2f}" for x in pr[bare])
                    + " | "
                    f"{p['paired_cpu_ratio_median'][bare]:.2f}x |"
                )
        lines += ["", f"All variants predicted the same labels: {p['same_labels']}.", ""]

    if "coldstart" in r:
        c = r["coldstart"]
        imp = c["imports"]
        lines += [
            "## c. Cold start",
            "",
            f"Fresh processes, median of {bench.args.cold_repeats} after one warm-up run "
            '(so files are in the page cache). "local model folder" is the hashing + SGD '
            'model trained in (a); "the Quick start\'s default model" is what `stancelab '
            "train` builds with the default config on `seeds/` (word + char TF-IDF, "
            "logistic regression). Both folders hold the model's NumPy-only copy, which "
            "`stancelab predict` uses by default (`--engine auto`); `--engine sklearn` "
            "loads the skops file with scikit-learn.",
            "",
            "| command | wall, median | all runs | CPU, median | peak RSS | other load |",
            "|---|---:|---|---:|---:|---:|",
        ]
        for case, v in c["cases"].items():
            cpu = v.get("cpu_median_seconds")
            lines.append(
                f"| {case} | {v['median_seconds']:.2f} s | "
                + ", ".join(f"{x:.2f}" for x in v["all_seconds"])
                + f" | {'—' if cpu is None else f'{cpu:.2f} s'} | "
                f"{fmt_mb(v['peak_rss_mb'])} | {v['foreign_load']:.2f} |"
            )
        lines += [
            "",
            f"On the `stancelab predict` path (`python -X importtime`, then "
            f"`sys.modules`): **mlflow imported: {imp['mlflow_imported']}**; "
            f"{imp['module_count']} modules; heavy packages loaded: "
            f"{', '.join(imp['heavy_packages_imported']) or 'none'}. Import time by "
            f"package (self time, s, total {imp['import_seconds_total']:.2f} s under "
            "importtime): "
            + ", ".join(f"{k} {v:.2f}" for k, v in imp["import_seconds_by_package"].items())
            + ".",
            "",
        ]

    if "scale" in r:
        lines += [
            "## d. Scale (`features=hashing model=sgd`, tracking on)",
            "",
            "`stancelab data build` (fresh dataset cache), then `stancelab train` on the "
            "built dataset, each a fresh process logging to an existing sqlite store. "
            "Peak = peak RSS of the process.",
            "",
            "| sentences | file | data build | peak | train | peak | of which fit "
            "| build + train | max peak | val / test macro-F1 |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for n, e in r["scale"].items():
            b, t = e["build"], e["train"]
            tw = f"{t['wall']:.1f} s" if t else "—"
            tp = fmt_mb(t["peak_rss_mb"]) if t else "—"
            status = "" if e["ok"] else " FAILED"
            f1 = (
                f"{e['val_macro_f1']:.3f} / {e['test_macro_f1']:.3f}"
                if e.get("val_macro_f1") is not None
                else "—"
            )
            fit = f"{e['fit_seconds']:.1f} s" if e.get("fit_seconds") is not None else "—"
            lines.append(
                f"| {fmt_n(n)} | {e['file_mb']:.0f} MB | {b['wall']:.1f} s | "
                f"{fmt_mb(b['peak_rss_mb'])} | {tw} | {tp} | {fit} | "
                f"{e['total_seconds']:.1f} s{status} | {fmt_mb(e['peak_rss_mb'])} | "
                f"{f1} |"
            )
        lines += [
            "",
            "Training steps at each size: seconds (peak RSS of the process during "
            "the step, from /proc samples every 0.1 s).",
            "",
        ]
        steps: list[str] = []
        for e in r["scale"].values():
            if e["train"]:
                steps += [s for s in e["train"]["step_peak_rss_mb"] if s not in steps]
        lines += [
            "| step | " + " | ".join(fmt_n(n) for n in r["scale"]) + " |",
            "|---|" + "---:|" * len(r["scale"]),
        ]
        for s in steps:
            cells = []
            for e in r["scale"].values():
                t = e["train"] or {}
                sec = t.get("steps", {}).get(s)
                mem = t.get("step_peak_rss_mb", {}).get(s)
                cells.append(
                    ("" if sec is None else f"{sec:.1f} s ")
                    + ("" if mem is None else f"({fmt_mb(mem)})")
                )
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        lines.append("")
        for n, e in r["scale"].items():
            if not e["ok"]:
                tail = (e["train"] or e["build"])["stderr_tail"]
                lines += [
                    f"{fmt_n(n)} failed; last lines of its output:",
                    "",
                    "```",
                    tail,
                    "```",
                    "",
                ]

    if "memory" in r:
        mem = r["memory"]
        rows = mem["rows"]
        lines += [
            f"### Where memory goes at {fmt_n(mem['size'])} sentences",
            "",
            "[`memory_stages.py`](memory_stages.py) runs the stages of `data build` and of "
            "the fit in one process, calling stancelab's own functions in its order, and "
            "reads the peak RSS of each stage (high-water mark reset before each). "
            f"Process RSS after imports: {fmt_mb(mem['rss_at_start_mb'])}. Rows: "
            + ", ".join(f"{k} {v}" for k, v in rows.items())
            + f"; train feature matrix: {mem['train_matrix_nnz']:,} non-zeros.",
            "",
            "| stage | seconds | RSS before | peak during | RSS after |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in mem["stages"]:
            lines.append(
                f"| {row['stage']} | {row['seconds']:.1f} | "
                f"{fmt_mb(row['rss_before_mb'])} | {fmt_mb(row['peak_mb'])} | "
                f"{fmt_mb(row['rss_after_mb'])} |"
            )
        lines.append("")

    lines += [
        "## The synthetic corpora",
        "",
        "Made by [`make_corpus.py`](make_corpus.py) from the project's annotated corpus "
        "(`seeds/corpus/*.jsonl`, 2,804 sentences): each sentence is a seed sentence "
        "followed by a run of 4–12 words cut from another seed sentence with the same "
        "target and label; seed sentences from the corpus' fixed test documents feed "
        "synthetic test documents, every 9th seed training document feeds validation, "
        "the rest train, so that held-out scores are real held-out scores. Sentences are "
        "unique under stancelab's normalised-duplicate key (redrawn on collision), grouped "
        "25 to a synthetic document (`doc_id`), and each document is given a `split` "
        "(80/10/10). Seed 0 for training corpora, seed 101 for the prediction inputs.",
        "",
    ]
    if "scale" in r:
        sizes = ", ".join(
            f"{fmt_n(n)}: {e['file_mb']:.0f} MB"
            + (
                f" (train/validation/test {e['split_sizes'].get('train')}/"
                f"{e['split_sizes'].get('validation')}/"
                f"{e['split_sizes'].get('test')})"
                if e.get("split_sizes")
                else ""
            )
            for n, e in r["scale"].items()
        )
        lines += [f"Sizes: {sizes}.", ""]

    lines += [
        "## Machine",
        "",
        f"- CPU: {m.get('cpu_model')}"
        + (f" ({m['cpu_mhz']:.0f} MHz)" if m.get("cpu_mhz") else "")
        + f", {m['cores']} cores ({m['cores_usable']} usable), cgroup cpu.max "
        f"{m['cgroup_cpu_max']}",
        f"- RAM: {m.get('ram_gb', 0):.1f} GB",
        f"- OS: {m['platform']}",
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        "- Load average at the start and the end of the last measuring command: "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg_start'])}; "
        f"{', '.join(f'{x:.2f}' for x in r['loadavg_end'])}. The machine is "
        "shared with other work; see 'other load' in the tables.",
        f"- Work folder: `{bench.work}`",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="stancelab speed and scale benchmark")
    p.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="corpus sizes for the scale section (comma-separated)",
    )
    p.add_argument(
        "--workdir",
        default="/tmp/stancelab-bench",
        help="where corpora, stores, caches and logs go (outside the repository)",
    )
    p.add_argument(
        "--quick", action="store_true", help="small sizes only: a smoke test in about two minutes"
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="repeats of each overhead command (default 5, quick 1)",
    )
    p.add_argument(
        "--sections",
        default="overhead,predict,coldstart,scale",
        help="which sections to run (comma-separated)",
    )
    p.add_argument(
        "--output",
        default=None,
        help="RESULTS.md to write (default: experiments/bench/RESULTS.md; with "
        "--quick, WORKDIR/RESULTS.md so a smoke test never replaces results)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds before one measured command is killed",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite the report from WORKDIR/results.json",
    )
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the other sections' figures from WORKDIR/results.json (to re-run "
        "some sections only); the report names the command of each section",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = "2000,5000" if args.sizes == "10000,100000,1000000" else args.sizes
        args.overhead_sizes = [2000]
        args.predict_n = 5000
        args.predict_repeats = 3
        args.predict_rounds = 3
        args.cold_repeats = 2
        args.repeats = args.repeats or 1
        args.variants = ("plain", "stancelab_new_data", "stancelab_tracking_off")
    else:
        args.overhead_sizes = [10000, 100000]
        args.predict_n = 100000
        args.predict_repeats = 5
        args.predict_rounds = 12
        args.cold_repeats = 9
        args.repeats = args.repeats or 5
        args.variants = VARIANTS
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    args = parse_args(raw)
    work = Path(args.workdir).resolve()
    if work == REPO or REPO in work.parents:
        raise SystemExit(f"--workdir must be outside the repository ({REPO})")
    if not STANCELAB.exists():
        raise SystemExit(f"{STANCELAB} not found: run with the project's venv python")
    work.mkdir(parents=True, exist_ok=True)
    output = (
        Path(args.output)
        if args.output
        else (work / "RESULTS.md" if args.quick else BENCH / "RESULTS.md")
    )
    command = "cd <repository> && " + shlex.join(
        [
            os.path.relpath(PY, REPO) if str(PY).startswith(str(REPO)) else str(PY),
            os.path.relpath(Path(__file__).resolve(), REPO),
            *raw,
        ]
    )
    started = time.time()
    bench = Bench(args)
    previous = work / "results.json"
    if args.report_only:
        bench.results = json.loads(previous.read_text())
        output.write_text(report(bench, started, command), encoding="utf-8")
        print(f"written: {output}")
        return 0
    if args.merge and previous.exists():
        bench.results = json.loads(previous.read_text())
        bench.results.setdefault(
            "runs",
            {
                section: {
                    "command": bench.results.get("command", "?"),
                    "date": bench.results.get("date", "?"),
                    "minutes": bench.results.get("elapsed_minutes", float("nan")),
                    "elapsed": True,
                }
                for section in ("overhead", "predict", "coldstart", "scale")
                if section in bench.results
            },
        )
    else:
        shutil.rmtree(bench.logs, ignore_errors=True)
        bench.results = {"runs": {}}
    date = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    bench.results["date"] = date
    bench.results["command"] = command
    bench.results["machine"] = machine()
    bench.results["args"] = {k: v for k, v in vars(args).items()}
    print(f"stancelab benchmark → {work}\n{command}", flush=True)
    bench.warm_page_cache()
    for section in ("overhead", "predict", "coldstart", "scale"):
        if section in args.sections:
            t = time.time()
            getattr(bench, section)()
            bench.results["runs"][section] = {
                "command": command,
                "date": date,
                "minutes": (time.time() - t) / 60,
            }
            bench.results["loadavg_end"] = os.getloadavg()
            (work / "results.json").write_text(
                json.dumps(bench.results, indent=2, default=_json_default)
            )
    bench.results["loadavg_end"] = os.getloadavg()
    bench.results["elapsed_minutes"] = (time.time() - started) / 60
    text = report(bench, started, command)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    raw_json = json.dumps(bench.results, indent=2, default=_json_default)
    (work / "results.json").write_text(raw_json)
    if not args.quick and not args.output:
        (BENCH / "results.json").write_text(raw_json)
    print("\n" + text)
    print(f"\nwritten: {output}", flush=True)
    return 0


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    return str(obj)


if __name__ == "__main__":
    sys.exit(main())

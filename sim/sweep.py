"""Parameter sweeps: a grid x seeds on local processes or a Dask cluster, streamed to disk.

The driver keeps at most ``2 x workers`` runs in flight and appends each finished run's summary as
one JSON line (flushed), so memory does not grow with the number of runs (unlike collecting every
run's frames in memory, mesa `batch_run`'s known problem). At the end the JSON lines are converted
to Parquet and CSV in chunks.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ScenarioError, SimError
from sim.scenario import SCENARIO_DIR, parse_scenario

Task = dict[str, Any]


def parse_grid(text: str) -> dict[str, list[Any]]:
    """`'a.b=1,2;c=x'` (values parsed as YAML scalars) or a YAML/JSON file of lists."""
    path = Path(text)
    if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise SimError(f"{path}: a grid file maps dotted field names to lists of values")
        return {str(k): list(v) for k, v in data.items()}
    grid: dict[str, list[Any]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, values = part.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise SimError(f"--grid: {part!r} is not FIELD=V1,V2")
        grid[name.strip()] = [yaml.safe_load(v) for v in values.split(",")]
    if not grid:
        raise SimError("--grid: empty grid")
    return grid


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for key in parents:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise SimError(f"--grid: {dotted}: {key} is not a section")
        node = child
    node[leaf] = value


def _load_raw(scenario_ref: str) -> tuple[dict[str, Any], str]:
    path = Path(scenario_ref)
    if not path.exists() and not path.suffix:
        path = SCENARIO_DIR / f"{scenario_ref}.yaml"
    if not path.is_file():
        raise ScenarioError(f"{scenario_ref}: no such scenario file")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: <root>: expected a mapping")
    return data, str(path)


def build_tasks(
    scenario_ref: str, grid: dict[str, list[Any]], seeds: int, **run: Any
) -> list[Task]:
    """One task per grid point and seed; every point is validated before anything runs."""
    raw, source = _load_raw(scenario_ref)
    base_seed = int(raw.get("seed", 0))
    tasks = []
    names = list(grid)
    for values in itertools.product(*(grid[n] for n in names)):
        data = json.loads(json.dumps(raw))
        point = dict(zip(names, values, strict=True))
        for name, value in point.items():
            _set(data, name, value)
        parse_scenario(data, f"{source} (grid point {point})")
        for i in range(seeds):
            tasks.append(
                {"data": data, "source": source, "point": point, "seed": base_seed + i, **run}
            )
    return tasks


def run_task(task: Task) -> dict[str, Any]:
    """Run one grid point with one seed (in a worker); return its flat summary row."""
    from sim.runner import resolve_sizes, run_scenario

    scenario = parse_scenario(task["data"], task["source"])
    sizes = resolve_sizes(
        scenario, nodes=task.get("nodes"), steps=task.get("steps"), fast=bool(task.get("fast"))
    )
    result = run_scenario(
        scenario,
        engine=task.get("engine", "vector"),
        sizes=sizes,
        seed=task["seed"],
        source=task["source"],
    )
    row = {f"param.{k}": v for k, v in task["point"].items()}
    row.update({k: v for k, v in result.summary.items() if k != "bound_problems"})
    row["bounds_ok"] = not result.summary["bound_problems"]
    return row


def stream_results(
    tasks: list[Task],
    submit: Callable[[Task], Any],
    completed: Callable[[list[Any]], Iterator[Any]],
    result_of: Callable[[Any], dict[str, Any]],
    window: int,
    sink: Callable[[dict[str, Any]], None],
) -> int:
    """Run tasks with at most `window` in flight, handing each result to `sink` as it finishes."""
    pending = iter(tasks)
    in_flight = [submit(t) for t in itertools.islice(pending, window)]
    done_count = 0
    while in_flight:
        finished = next(completed(in_flight))
        in_flight.remove(finished)
        sink(result_of(finished))
        done_count += 1
        nxt = next(pending, None)
        if nxt is not None:
            in_flight.append(submit(nxt))
    return done_count


def _local(tasks: list[Task], workers: int, sink: Callable[[dict[str, Any]], None]) -> int:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    def completed(futures: list[Any]) -> Iterator[Any]:
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        yield from done

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return stream_results(
            tasks,
            lambda t: pool.submit(run_task, t),
            completed,
            lambda f: f.result(),
            2 * workers,
            sink,
        )


def _dask(tasks: list[Task], address: str, sink: Callable[[dict[str, Any]], None]) -> int:
    from distributed import Client, wait

    def completed(futures: list[Any]) -> Iterator[Any]:
        done, _ = wait(futures, return_when="FIRST_COMPLETED")  # type: ignore[no-untyped-call]
        yield from done

    with Client(address, timeout="10s") as client:  # type: ignore[no-untyped-call]
        window = 2 * max(1, sum(client.nthreads().values()))
        return stream_results(
            tasks,
            lambda t: client.submit(run_task, t, pure=False),
            completed,
            lambda f: f.result(),
            window,
            sink,
        )


def run_sweep(
    scenario_ref: str,
    *,
    grid: dict[str, list[Any]],
    seeds: int,
    engine: str = "vector",
    nodes: int | None = None,
    steps: int | None = None,
    fast: bool = False,
    scheduler: str | None = None,
    workers: int = 2,
    out: Path | None = None,
) -> Path:
    """Run the sweep; return the folder with results.jsonl, results.parquet and results.csv."""
    tasks = build_tasks(
        scenario_ref, grid, seeds, engine=engine, nodes=nodes, steps=steps, fast=fast
    )
    name = Path(scenario_ref).stem
    out = out or Path("runs") / f"sweep-{name}"
    out.mkdir(parents=True, exist_ok=True)
    lines = out / "results.jsonl"
    with lines.open("w", encoding="utf-8") as fh:

        def sink(row: dict[str, Any]) -> None:
            fh.write(json.dumps(row, default=str, allow_nan=True) + "\n")
            fh.flush()

        if scheduler:
            _dask(tasks, scheduler, sink)
        else:
            _local(tasks, max(1, workers), sink)
    _convert(lines, out)
    return out


def _convert(lines: Path, out: Path) -> None:
    """JSON lines -> Parquet and CSV, a chunk at a time."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    csv_path = out / "results.csv"
    try:
        for i, chunk in enumerate(pd.read_json(lines, lines=True, chunksize=1_000)):
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(out / "results.parquet", table.schema)
            writer.write_table(table.cast(writer.schema))
            chunk.to_csv(csv_path, mode="w" if i == 0 else "a", header=i == 0, index=False)
    finally:
        if writer is not None:
            writer.close()

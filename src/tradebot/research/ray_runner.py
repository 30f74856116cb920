"""Sweep cells as Ray tasks: on this machine by default (``ray.init`` with its cores, no cluster to set up),
on an existing cluster with ``address`` (``ray://host:10001`` or ``auto``).

The bar files and the config bundle reach the workers through Ray's object store (``ray.put`` once, each
task gets the reference), never through a shared disk: a worker writes what it needs into its own temporary
directory. A task catches its cell's error and returns it as the cell's row; a task whose worker died is
recorded as failed with Ray's error. Nothing random runs in a cell, so a cell gives the same row on any
worker. Ray is the ``research`` extra: imported here, and only when a sweep runs.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradebot.research.config_bundle import ConfigBundle
from tradebot.research.fold_run import Costs, FoldJob, run_fold
from tradebot.research.series import BarSeries, series_from_bytes
from tradebot.research.sweep import Cell, failed_row, ok_row


class RayUnavailable(RuntimeError):
    """Ray is not installed (``pip install 'tradebot[research]'``) or the cluster cannot be reached."""


@dataclass(frozen=True, slots=True)
class RayRunner:
    bundle: ConfigBundle
    series: Mapping[str, BarSeries]
    data: Mapping[str, bytes]  # each series' file bytes, as read by the driver
    costs: Costs
    address: str | None = None  # None: a local Ray with num_workers CPUs
    num_workers: int | None = None  # None: the machine's cores

    def __call__(self, cells: Sequence[Cell], finished: Callable[[Cell, dict[str, Any]], None]) -> None:
        ray = _import_ray()
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reporting home from a trading machine
        try:
            if self.address is None:
                ray.init(
                    num_cpus=self.num_workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level="ERROR",
                )
            else:
                ray.init(address=self.address, log_to_driver=False, logging_level="ERROR")
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(f"cannot start or reach Ray at {self.address or 'local'}: {exc}") from None
        try:
            bundle_ref = ray.put(self.bundle)
            data_refs = {symbol: ray.put(data) for symbol, data in self.data.items()}
            task = ray.remote(num_cpus=1, max_retries=0)(run_cell)
            pending = {
                task.remote(
                    bundle_ref,
                    c.symbol,
                    self.series[c.symbol].name,
                    data_refs[c.symbol],
                    c,
                    self.costs,
                ): c
                for c in cells
            }
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                cell = pending.pop(done[0])
                try:
                    row = ray.get(done[0])
                except Exception as exc:  # noqa: BLE001 - a worker lost or killed: the cell's error, recorded
                    row = failed_row(cell, f"ray: {type(exc).__name__}: {exc}")
                finished(cell, row)
        finally:
            ray.shutdown()


def run_cell(
    bundle: ConfigBundle, symbol: str, name: str, data: bytes, cell: Cell, costs: Costs
) -> dict[str, Any]:
    """One cell on a worker: its row, ``ok`` with the metrics or ``failed`` with the error."""
    from tradebot.domain.calendars import shared_calendars

    try:
        with tempfile.TemporaryDirectory(prefix=f"tradebot-cell-{cell.cell_id}-") as tmp:
            settings = bundle.materialize(Path(tmp) / "config")
            series = series_from_bytes(symbol, name, data, settings.instrument(symbol), shared_calendars())
            job = FoldJob(fold=cell.fold, profiles=(cell.profile,), params=cell.params, costs=costs)
            outcome = run_fold(bundle, series, job, Path(tmp) / "fold")
            return ok_row(cell, outcome)
    except Exception as exc:  # noqa: BLE001 - a cell's failure is its result, never a lost row
        last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" ({Path(last.filename).name}:{last.lineno})" if last else ""
        return failed_row(cell, f"{type(exc).__name__}: {exc}{where}")


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(
            "Ray is not installed: pip install 'tradebot[research]' (make test installs it)"
        ) from None
    return ray

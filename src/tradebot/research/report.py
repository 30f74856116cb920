"""The distribution across folds (or cells) as a table on stdout (rich), and the overfitting verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

COLUMNS = ("n", "mean", "std", "min", "p25", "median", "p75", "max", "share_positive")


def print_distribution(summary: Mapping[str, Any], *, title: str, console: Console | None = None) -> None:
    out = console or Console(width=120)
    table = Table(title=title)
    table.add_column("metric", no_wrap=True, min_width=16)
    for column in COLUMNS:
        table.add_column(column, justify="right")
    for metric, stats in summary["distribution"].items():
        table.add_row(metric, *(_cell(stats.get(c)) for c in COLUMNS))
    out.print(table)
    overfit = summary.get("overfit")
    if overfit:
        boot = overfit["bootstrap"]
        out.print(
            f"out of sample: {overfit['days']} days, mean daily return "
            f"{_cell(overfit['mean_daily_return'])}; block bootstrap p-value {_cell(boot['p_value'])} "
            f"(could be luck: {'yes' if boot['luck_warning'] else 'no'}); "
            f"deflated Sharpe {_cell(overfit['deflated_sharpe'])} over {overfit['trials']} trial(s)"
        )
        if overfit.get("warning"):
            out.print(f"WARNING: {overfit['warning']}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)

"""A progress bar for a run attached to a terminal: bars done, %, bars/s and time left (rich).

Shown only when the stream is a terminal and the run is not ``--quiet``: never in a pipe, a log file or a
test's captured output. It reads the run's bar counter when it redraws (rich's own refresh thread), so
the pipeline does nothing for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class BarsPerSecondColumn(ProgressColumn):
    """The rate, in bars a second (blank until rich has measured one)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} bars/s")


class _CountingProgress(Progress):
    """A ``Progress`` whose one task takes its count from ``counter`` at every redraw."""

    def __init__(self, counter: Callable[[], int], *columns: ProgressColumn, console: Console) -> None:
        self._counter = counter
        self.task_id: TaskID | None = None
        super().__init__(*columns, console=console, transient=False, refresh_per_second=4)

    def get_renderables(self) -> Iterable[RenderableType]:
        if self.task_id is not None:
            self.update(self.task_id, completed=self._counter())
        yield from super().get_renderables()


def data_rows(path: Path) -> int | None:
    """Bars in a CSV bar file (its lines but the header), or None when it cannot be read."""
    try:
        with path.open("rb") as fh:
            lines = sum(1 for line in fh if line.strip())
    except OSError:
        return None
    return max(lines - 1, 0)


@contextlib.contextmanager
def bar_progress(
    counter: Callable[[], int], *, total: int | None, stream: IO[str], enabled: bool = True
) -> Iterator[None]:
    """Show the progress of ``counter`` (bars done) towards ``total`` (None: unknown) on ``stream``
    while the block runs, if ``enabled`` and ``stream`` is a terminal."""
    isatty = getattr(stream, "isatty", None)
    if not enabled or not (isatty and isatty()):
        yield
        return
    console = Console(file=stream, force_terminal=True)
    progress = _CountingProgress(
        counter,
        TextColumn("replaying" if total is not None else "running"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        BarsPerSecondColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    progress.task_id = progress.add_task("bars", total=total)
    with progress:
        try:
            yield
        finally:
            progress.update(progress.task_id, completed=counter())

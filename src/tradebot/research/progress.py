"""A progress bar for folds and cells (rich), on stderr so stdout stays the result; off with ``-q``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn


class Bar:
    def __init__(self, progress: Progress | None, label: str) -> None:
        self._progress = progress
        self._label = label
        self._task: TaskID | None = None

    def start(self, total: int, done: int = 0) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task(self._label, total=total, completed=done)

    def advance(self, by: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, by)


@contextlib.contextmanager
def progress_bar(label: str, *, disabled: bool = False) -> Iterator[Bar]:
    if disabled:
        yield Bar(None, label)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield Bar(progress, label)

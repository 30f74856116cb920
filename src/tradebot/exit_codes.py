"""Process exit codes, documented in the README and ``tradebot run --help``."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # success (also: market closed, nothing to do)
    CONFIG_ERROR = 2  # invalid config, constitution, data file or arguments
    ALREADY_RUNNING = 3  # another instance holds the lock for this account and config
    RECONCILIATION_FAILED = 4  # startup reconciliation failed or found what policy refuses
    HALTED = 5  # trading halted by the constitution or an operator
    BROKER_UNREACHABLE = 6  # the broker could not be connected or authenticated
    INTERNAL_ERROR = 70  # a bug: the run stopped fail-closed


EXIT_CODES_HELP = "Exit codes: " + ", ".join(f"{c.value} {c.name}" for c in ExitCode) + "."

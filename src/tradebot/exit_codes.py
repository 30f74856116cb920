"""Process exit codes, documented in the README's table and in ``tradebot --help``."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # success (also: market closed, nothing to do)
    CONFIG_ERROR = 2  # invalid config, constitution, data file, model artifact or arguments
    ALREADY_RUNNING = 3  # another instance holds the lock for this account and config
    RECONCILIATION_FAILED = 4  # startup reconciliation failed or found what policy refuses
    HALTED = 5  # trading halted by the constitution or an operator
    BROKER_UNREACHABLE = 6  # the broker could not be connected or authenticated
    STORE_UNUSABLE = 7  # the event store or run directory cannot be used: damaged, read-only or full
    NOT_RUNNING = 8  # kill/resume: no daemon answers on the control socket, or it refused the command
    CRITERIA_NOT_MET = 9  # report --readiness: NOT READY; explain: not reproduced; promote: none qualifies
    INTERNAL_ERROR = 70  # a bug: the run stopped fail-closed


# one phrase a code, for `--help` (the README's table says the same at more length)
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success or nothing to do (also a clean stop on SIGTERM/SIGINT)",
    ExitCode.CONFIG_ERROR: "invalid config, constitution, data file, model artifact or arguments",
    ExitCode.ALREADY_RUNNING: "another instance runs for this account and config",
    ExitCode.RECONCILIATION_FAILED: "startup reconciliation failed",
    ExitCode.HALTED: "trading halted by the constitution or an operator",
    ExitCode.BROKER_UNREACHABLE: "broker unreachable or authentication failed",
    ExitCode.STORE_UNUSABLE: "event store or run directory unusable (damaged, read-only, full)",
    ExitCode.NOT_RUNNING: "kill/resume: no daemon answering, or it refused the command",
    ExitCode.CRITERIA_NOT_MET: "readiness NOT READY, explain not reproduced, or promote found no set",
    ExitCode.INTERNAL_ERROR: "internal error, the run stopped fail-closed",
}

EXIT_CODES_HELP = "Exit codes: " + "; ".join(f"{c.value} {EXIT_CODE_MEANINGS[c]}" for c in ExitCode) + "."

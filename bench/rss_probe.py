"""Run the ``tradebot`` CLI in this process, then write the process's peak RSS (VmHWM) to a file.

usage: python -m bench.rss_probe OUT.json ARGS...   (exactly ``tradebot ARGS...``, same exit code)

Why not ``ru_maxrss`` of the child from ``os.wait4``: Linux carries the parent's high-water mark into a
forked (or vfork'ed) child across ``exec``, so a child started by a large benchmark process reports at
least the parent's peak. ``VmHWM`` in ``/proc/self/status`` belongs to the memory map created by ``exec``
and is exact. Peer scripts read it the same way (``peak_rss_mb``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def peak_rss_mb() -> float | None:
    """This process's peak resident set size in MB (VmHWM), None where /proc is not available."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    sys.argv = ["tradebot", *sys.argv[2:]]
    from tradebot.cli import main as tradebot_main

    code: int | str | None = 0
    try:
        tradebot_main()
    except SystemExit as exc:
        code = exc.code
    out.write_text(json.dumps({"peak_rss_mb": peak_rss_mb(), "exit": code if isinstance(code, int) else 1}))
    return code if isinstance(code, int) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The ``[session]`` table: how a cron-launched session waits, starts, and cleans up.

```toml
[session]
max_wait_s = 7200          # started earlier than this before the open: refused (SESSION_WAIT_TOO_LONG)
leftovers = "refuse"       # venue orders/positions we cannot explain at startup: cancel | adopt | refuse
cancel_day_orders = true   # at session end, cancel open orders whose time in force is DAY
flatten_at_close = true    # at session end, flatten every open position (reduce-only orders)
cancel_timeout_s = 30      # how long a cancel may take to be confirmed by the venue
report_dir = "reports"     # under the run directory: <run_dir>/<report_dir>/<session day>/
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LeftoversPolicy = Literal["cancel", "adopt", "refuse"]


class SessionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_wait_s: float = Field(7200.0, ge=0)
    leftovers: LeftoversPolicy = "refuse"
    cancel_day_orders: bool = True
    flatten_at_close: bool = True
    cancel_timeout_s: float = Field(30.0, gt=0)
    report_dir: str = "reports"

"""Reason codes: the public vocabulary of logs, metrics, the store and reports.

Every block, clamp, halt, refusal and alert carries one of these stable UPPER_SNAKE codes. Codes are
plain strings (so plugins and third-party components can add their own), but every code tradebot itself
emits is declared here, grouped by the stage that emits it; ``ALL_CODES`` lists them for docs and tests.
"""

from __future__ import annotations

from typing import Final

# --- ingest: bar validation ------------------------------------------------------------------------
BAR_NAN: Final = "BAR_NAN"  # NaN or infinite value in a bar field
BAR_NON_POSITIVE_PRICE: Final = "BAR_NON_POSITIVE_PRICE"
BAR_HIGH_BELOW_LOW: Final = "BAR_HIGH_BELOW_LOW"
BAR_OHLC_INCONSISTENT: Final = "BAR_OHLC_INCONSISTENT"  # open/close outside [low, high]
BAR_NEGATIVE_VOLUME: Final = "BAR_NEGATIVE_VOLUME"
BAR_DUPLICATE_TS: Final = "BAR_DUPLICATE_TS"
BAR_OUT_OF_ORDER: Final = "BAR_OUT_OF_ORDER"
BAR_MALFORMED: Final = "BAR_MALFORMED"  # unparsable line or field
BAR_MISSING_COLUMN: Final = "BAR_MISSING_COLUMN"
BAR_FILE_UNREADABLE: Final = "BAR_FILE_UNREADABLE"  # the bar file is a directory, missing or not readable
BAR_OUTSIDE_CALENDAR: Final = "BAR_OUTSIDE_CALENDAR"  # bar time outside the exchange calendar's known range

# --- trading state, kill switch, canary ------------------------------------------------------------
TRADING_HALTED: Final = "TRADING_HALTED"
TRADING_REDUCING: Final = "TRADING_REDUCING"
KILL_SWITCH: Final = "KILL_SWITCH"
TRADING_RESUMED: Final = "TRADING_RESUMED"  # back to ACTIVE: a new session, or an operator
OPERATOR_REDUCE: Final = "OPERATOR_REDUCE"  # an operator asked for REDUCING
CANARY_MODE_ACTIVE: Final = "CANARY_MODE_ACTIVE"
CANARY_SYMBOL_BLOCK: Final = "CANARY_SYMBOL_BLOCK"

# --- session / calendar ----------------------------------------------------------------------------
MARKET_CLOSED_BLOCK: Final = "MARKET_CLOSED_BLOCK"
NO_TRADE_WINDOW_BLOCK: Final = "NO_TRADE_WINDOW_BLOCK"
FLATTEN_DEADLINE_BLOCK: Final = "FLATTEN_DEADLINE_BLOCK"
FLATTEN_DEADLINE: Final = "FLATTEN_DEADLINE"  # the pipeline flattening at the deadline

# --- cron-launched sessions (tradebot.session) -----------------------------------------------------
MARKET_CLOSED: Final = "MARKET_CLOSED"  # started after the close / on a holiday: nothing to do, exit 0
ALREADY_RUNNING: Final = "ALREADY_RUNNING"  # another process holds the instance lock
SESSION_WAIT_TOO_LONG: Final = "SESSION_WAIT_TOO_LONG"  # the open is further away than session.max_wait_s
SESSION_SPEC_INVALID: Final = "SESSION_SPEC_INVALID"  # a --session value that does not parse or fit
RECONCILIATION_FAILED: Final = "RECONCILIATION_FAILED"  # startup reconciliation refuses to trade
SESSION_HEARTBEAT: Final = "SESSION_HEARTBEAT"  # a running session's periodic heartbeat event

# --- constitution ----------------------------------------------------------------------------------
DAILY_LOSS_CAP_BLOCK: Final = "DAILY_LOSS_CAP_BLOCK"
CONSECUTIVE_LOSSES_BLOCK: Final = "CONSECUTIVE_LOSSES_BLOCK"
TRADES_PER_DAY_BLOCK: Final = "TRADES_PER_DAY_BLOCK"
POSITION_LIMIT_BLOCK: Final = "POSITION_LIMIT_BLOCK"
PER_TRADE_RISK_BLOCK: Final = "PER_TRADE_RISK_BLOCK"
MIN_CAPITAL_BLOCK: Final = "MIN_CAPITAL_BLOCK"
DVS_BLOCK: Final = "DVS_BLOCK"
EQS_BLOCK: Final = "EQS_BLOCK"

# --- entry policy ----------------------------------------------------------------------------------
BLOCK_LOW_CONFIDENCE: Final = "BLOCK_LOW_CONFIDENCE"
BLOCK_COOLDOWN: Final = "BLOCK_COOLDOWN"
BLOCK_MAX_POSITIONS: Final = "BLOCK_MAX_POSITIONS"
BLOCK_MAX_EXPOSURE: Final = "BLOCK_MAX_EXPOSURE"
BLOCK_REGIME_RULE: Final = "BLOCK_REGIME_RULE"
ALLOW_SCALE_IN: Final = "ALLOW_SCALE_IN"
BLOCK_SCALE_IN: Final = "BLOCK_SCALE_IN"  # step 6: a position exists and a scale-in rule fails
BLOCK_EXISTING_POSITION: Final = "BLOCK_EXISTING_POSITION"  # step 6: opposite direction, or scale-in off
ENTRY_ALLOCATION_CLAMP: Final = "ENTRY_ALLOCATION_CLAMP"  # capital allocation formula cut the size

# --- risk governor ---------------------------------------------------------------------------------
GOVERNOR_CLAMP_SIZE: Final = "GOVERNOR_CLAMP_SIZE"
GOVERNOR_CLAMP_LEVERAGE: Final = "GOVERNOR_CLAMP_LEVERAGE"
GOVERNOR_CLAMP_NOTIONAL: Final = "GOVERNOR_CLAMP_NOTIONAL"
GOVERNOR_CONFIDENCE_FLOOR: Final = "GOVERNOR_CONFIDENCE_FLOOR"
GOVERNOR_RISK_BUDGET: Final = "GOVERNOR_RISK_BUDGET"
GOVERNOR_FAILURE: Final = "GOVERNOR_FAILURE"
GOVERNOR_MIN_ORDER: Final = "GOVERNOR_MIN_ORDER"  # under MIN_ORDER_USD: never clamped up, blocked

# --- portfolio risk ------------------------------------------------------------------------------
VOL_TARGET_SCALE: Final = "VOL_TARGET_SCALE"  # an entry scaled toward the portfolio volatility target
RISK_CAP_PORTFOLIO: Final = "RISK_CAP_PORTFOLIO"  # an entry cut (or blocked) by a symbol or cluster cap
CORR_CLUSTER_CAP: Final = "CORR_CLUSTER_CAP"  # ... by the gross cap of a group of highly correlated symbols
LIQ_REGIME_THIN_SCALE: Final = "LIQ_REGIME_THIN_SCALE"  # THIN liquidity: the entry cut to the thin max order
SLEEVE_QUARANTINED: Final = "SLEEVE_QUARANTINED"  # the entry's sleeve is in quarantine
SYMBOL_QUARANTINED: Final = "SYMBOL_QUARANTINED"  # the entry's symbol is in quarantine
SLEEVE_WEIGHT_CHANGED: Final = "SLEEVE_WEIGHT_CHANGED"  # a sleeve's capital weight moved at the close
ENTRY_COST_BLOCK: Final = "ENTRY_COST_BLOCK"  # an entry's take-profit does not clear its cost + buffer
LEARNING_OVERRIDE: Final = "LEARNING_OVERRIDE"  # post-trade learning moved a parameter at the close
LEARNING_ROLLBACK: Final = "LEARNING_ROLLBACK"  # an operator put a previous overrides version back

# --- pre-trade controls ------------------------------------------------------------------------
ORDER_SIZE_BLOCK: Final = "ORDER_SIZE_BLOCK"
PRICE_COLLAR_BLOCK: Final = "PRICE_COLLAR_BLOCK"
LIQ_PARTICIPATION_BLOCK: Final = "LIQ_PARTICIPATION_BLOCK"  # an entry above its share of recent volume
LIQ_PARTICIPATION_SCALE: Final = "LIQ_PARTICIPATION_SCALE"  # ... cut down to it (participation_mode scale)
DUPLICATE_ORDER_BLOCK: Final = "DUPLICATE_ORDER_BLOCK"
RATE_THROTTLE_BLOCK: Final = "RATE_THROTTLE_BLOCK"
CANCEL_LOOP_BLOCK: Final = "CANCEL_LOOP_BLOCK"

# --- generic gate outcomes -------------------------------------------------------------------------
APPROVED: Final = "APPROVED"
GATE_FAILURE: Final = "GATE_FAILURE"  # a gate raised: the intent is rejected (fail closed)
UNSUPPORTED_ORDER_TYPE: Final = "UNSUPPORTED_ORDER_TYPE"  # broker capability check
INSTRUMENT_INCREMENT_BLOCK: Final = "INSTRUMENT_INCREMENT_BLOCK"  # rounds to zero / under min qty or notional
NO_POSITION_TO_REDUCE: Final = "NO_POSITION_TO_REDUCE"
INSTRUMENT_ROUNDED: Final = "INSTRUMENT_ROUNDED"  # clamp: qty/prices rounded onto the instrument's grid
REDUCE_ONLY_CLAMP: Final = "REDUCE_ONLY_CLAMP"  # clamp: a reduce-only qty cut to the open position

# --- signals, sizer, intents, models ---------------------------------------------------------------
SIZER_FAILURE: Final = "SIZER_FAILURE"
# the AI sizer (LIVE) cannot size one lot of an instrument even at its most: the run refuses to start
AI_SIZER_BELOW_ONE_LOT: Final = "AI_SIZER_BELOW_ONE_LOT"
TIME_STOP: Final = "TIME_STOP"  # an exit plan's time stop passed: the position is closed at market
INTENT_INVALID: Final = "INTENT_INVALID"
INTENT_STALE: Final = "INTENT_STALE"  # an external intent older than intents.max_age_bars at the gates
MODEL_VERIFICATION_FAILED: Final = "MODEL_VERIFICATION_FAILED"
INTENT_AFTER_END_OF_DATA: Final = "INTENT_AFTER_END_OF_DATA"  # replay: its time came after the last bar

# --- OMS, broker, reconciliation -------------------------------------------------------------------
ORDER_REJECTED: Final = "ORDER_REJECTED"
STARTUP_CLEANUP: Final = "STARTUP_CLEANUP"
SESSION_CLOSE_CLEANUP: Final = "SESSION_CLOSE_CLEANUP"
RECONCILIATION_MISMATCH: Final = "RECONCILIATION_MISMATCH"
EXIT_REPLACES_LEGS: Final = "EXIT_REPLACES_LEGS"  # an exit cancels the position's resting stop/target legs
ORDER_STATUS_UNKNOWN: Final = "ORDER_STATUS_UNKNOWN"  # a submit whose fate the venue could not tell
ORDER_NOT_SENT_AFTER_RESTART: Final = "ORDER_NOT_SENT_AFTER_RESTART"  # written ahead, never reached the venue
CANCEL_ALL_TRIGGERED: Final = "CANCEL_ALL_TRIGGERED"
STORE_WRITE_FAILED: Final = "STORE_WRITE_FAILED"
INTERNAL_ERROR: Final = "INTERNAL_ERROR"

# --- ops: error taxonomy, breakers, retries, control, alerts ---------------------------
# (AUTH_HALT, RATE_LIMIT_RETRY and NET_RETRY are declared with the broker errors below)
BAD_DATA_SKIP: Final = "BAD_DATA_SKIP"  # a provider's data failed validation: skip the symbol
PROVIDER_SCHEMA_DISABLE: Final = "PROVIDER_SCHEMA_DISABLE"  # a provider's payload no longer parses
REQUEST_REFUSED: Final = "REQUEST_REFUSED"  # another 4xx: the venue refused this request
BROKER_STATE_ERROR: Final = "BROKER_STATE_ERROR"  # the venue's state is not what the request assumed
INVARIANT_HALT: Final = "INVARIANT_HALT"  # NaN / inf / negative price or quantity in our own math
PROGRAMMING_ERROR_HALT: Final = "PROGRAMMING_ERROR_HALT"  # TypeError/KeyError/... in the core: a bug
UNKNOWN_ERROR_HALT: Final = "UNKNOWN_ERROR_HALT"  # unclassified failure: fail closed
CIRCUIT_OPEN_BROKER_SUBMIT: Final = "CIRCUIT_OPEN_BROKER_SUBMIT"
CIRCUIT_OPEN_BROKER_POSITIONS: Final = "CIRCUIT_OPEN_BROKER_POSITIONS"
CIRCUIT_OPEN_BROKER_OPEN_ORDERS: Final = "CIRCUIT_OPEN_BROKER_OPEN_ORDERS"
CIRCUIT_OPEN_DATA_PRIMARY: Final = "CIRCUIT_OPEN_DATA_PRIMARY"
CIRCUIT_OPEN_QUOTES: Final = "CIRCUIT_OPEN_QUOTES"
CIRCUIT_OPEN_CALENDAR: Final = "CIRCUIT_OPEN_CALENDAR"
CANCEL_ALL_THROTTLED: Final = "CANCEL_ALL_THROTTLED"  # a cancel-all asked for over the per-minute limit
OPERATOR_RESUME: Final = "OPERATOR_RESUME"  # an operator lifted a halt
RUNTIME_CONTRACT_VIOLATION: Final = "RUNTIME_CONTRACT_VIOLATION"  # live startup refused
ALERT_BREAKER_OPEN: Final = "ALERT_BREAKER_OPEN"
ALERT_REPEATED_REJECTS: Final = "ALERT_REPEATED_REJECTS"
ALERT_STALE_DATA: Final = "ALERT_STALE_DATA"
ALERT_RECONCILIATION_MISMATCH: Final = "ALERT_RECONCILIATION_MISMATCH"
ALERT_HALT: Final = "ALERT_HALT"

# --- broker errors and venue refusals (error taxonomy codes; brokers and the sim venue) ---
AUTH_HALT: Final = "AUTH_HALT"  # 401/403 or venue equivalent: halt trading
RATE_LIMIT_RETRY: Final = "RATE_LIMIT_RETRY"  # 429 or venue equivalent: retry after the venue's delay
NET_RETRY: Final = "NET_RETRY"  # timeout, connection reset/refused: retry (reads) or look up (submits)
BROKER_NOT_CONNECTED: Final = "BROKER_NOT_CONNECTED"  # a request on a broker that is closed
UNKNOWN_INSTRUMENT: Final = "UNKNOWN_INSTRUMENT"  # the venue does not list the symbol
DUPLICATE_CLIENT_ORDER_ID: Final = "DUPLICATE_CLIENT_ORDER_ID"  # venue refused a reused client order id
REDUCE_ONLY_REJECT: Final = "REDUCE_ONLY_REJECT"  # reduce-only order would open or increase a position
REDUCE_ONLY_TRIMMED: Final = "REDUCE_ONLY_TRIMMED"  # reduce-only remainder canceled: position already flat
INVALID_ORDER: Final = "INVALID_ORDER"  # venue-side validation: off-tick price, bad qty, missing price
NOTIFY_FAILED: Final = "NOTIFY_FAILED"  # an alert notification was not accepted (logged, never fatal)


def _collect() -> frozenset[str]:
    return frozenset(value for name, value in globals().items() if name.isupper() and isinstance(value, str))


ALL_CODES: Final[frozenset[str]] = _collect()

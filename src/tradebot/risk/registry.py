"""Gate names -> factories. The chain is configuration: a list of these names (``build.build_chain``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from tradebot.domain.calendars import Calendars
from tradebot.risk.canary import CanaryGate
from tradebot.risk.chain import Gate
from tradebot.risk.consecutive_losses import ConsecutiveLossesGate
from tradebot.risk.constitution import Constitution
from tradebot.risk.correlation_cap import CorrelationCapGate
from tradebot.risk.daily_loss_cap import DailyLossCapGate
from tradebot.risk.dvs_floor import DvsFloorGate
from tradebot.risk.entry_allocation import EntryAllocationGate
from tradebot.risk.entry_confidence import EntryConfidenceGate
from tradebot.risk.entry_cooldown_global import EntryGlobalCooldownGate
from tradebot.risk.entry_cooldown_symbol import EntrySymbolCooldownGate
from tradebot.risk.entry_max_exposure import EntryMaxExposureGate
from tradebot.risk.entry_max_positions import EntryMaxPositionsGate
from tradebot.risk.entry_regime import EntryRegimeGate
from tradebot.risk.entry_scale_in import EntryScaleInGate
from tradebot.risk.entry_symbol_exposure import EntrySymbolExposureGate
from tradebot.risk.entry_symbol_positions import EntrySymbolPositionsGate
from tradebot.risk.eqs_floor import EqsFloorGate
from tradebot.risk.flatten_deadline_gate import FlattenDeadlineGate
from tradebot.risk.governor import GovernorGate
from tradebot.risk.instrument_sanity import InstrumentSanityGate
from tradebot.risk.liquidity_participation import LiquidityParticipationGate
from tradebot.risk.liquidity_regime import LiquidityRegimeGate
from tradebot.risk.min_capital import MinCapitalGate
from tradebot.risk.no_trade_window import NoTradeWindowGate
from tradebot.risk.per_trade_risk import PerTradeRiskGate
from tradebot.risk.portfolio_concentration import PortfolioConcentrationGate
from tradebot.risk.position_limit import PositionLimitGate
from tradebot.risk.pretrade_cancel_loop import CancelLoopGate
from tradebot.risk.pretrade_duplicate import DuplicateOrderGate
from tradebot.risk.pretrade_order_size import OrderSizeGate
from tradebot.risk.pretrade_price_collar import PriceCollarGate
from tradebot.risk.pretrade_throttle import RateThrottleGate
from tradebot.risk.quarantine import QuarantineGate
from tradebot.risk.session_open import SessionOpenGate
from tradebot.risk.trades_per_day import TradesPerDayGate
from tradebot.risk.trading_state_gate import TradingStateGate
from tradebot.risk.vol_target import VolTargetGate


class GateConfig(BaseModel):
    """Chain-level settings that are not per-instrument limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    canary_symbols: tuple[str, ...] = ()  # canary mode: when set, entries only in these symbols


@dataclass(frozen=True, slots=True)
class GateDeps:
    constitution: Constitution
    gate_config: GateConfig
    calendars: Calendars


GateFactory = Callable[[GateDeps], Gate]

GATES: Mapping[str, GateFactory] = {
    # trading state, kill switch, canary
    "trading_state": lambda d: TradingStateGate(),
    "canary": lambda d: CanaryGate(d.gate_config.canary_symbols),
    # session / calendar
    "session_open": lambda d: SessionOpenGate(d.constitution, d.calendars),
    "no_trade_window": lambda d: NoTradeWindowGate(d.constitution),
    "flatten_deadline": lambda d: FlattenDeadlineGate(d.constitution, d.calendars),
    # constitution: the hard limits, checked first
    "min_capital": lambda d: MinCapitalGate(d.constitution),
    "daily_loss_cap": lambda d: DailyLossCapGate(d.constitution),
    "consecutive_losses": lambda d: ConsecutiveLossesGate(d.constitution),
    "trades_per_day": lambda d: TradesPerDayGate(d.constitution),
    "position_limit": lambda d: PositionLimitGate(d.constitution),
    "per_trade_risk": lambda d: PerTradeRiskGate(d.constitution),
    "dvs_floor": lambda d: DvsFloorGate(d.constitution),
    "eqs_floor": lambda d: EqsFloorGate(d.constitution),
    # entry policy, steps 1-9 then the allocation formula
    "entry_confidence": lambda d: EntryConfidenceGate(d.constitution),
    "entry_global_cooldown": lambda d: EntryGlobalCooldownGate(d.constitution),
    "entry_symbol_cooldown": lambda d: EntrySymbolCooldownGate(d.constitution),
    "entry_max_positions": lambda d: EntryMaxPositionsGate(d.constitution),
    "entry_max_exposure": lambda d: EntryMaxExposureGate(d.constitution),
    "entry_scale_in": lambda d: EntryScaleInGate(d.constitution),
    "entry_symbol_exposure": lambda d: EntrySymbolExposureGate(d.constitution),
    "entry_symbol_positions": lambda d: EntrySymbolPositionsGate(d.constitution),
    "entry_regime": lambda d: EntryRegimeGate(d.constitution),
    "quarantine": lambda d: QuarantineGate(d.constitution),
    "entry_allocation": lambda d: EntryAllocationGate(d.constitution),
    # risk governor: clamps in preference to rejecting
    "governor": lambda d: GovernorGate(d.constitution),
    # portfolio: concentration and correlation caps, then volatility targeting
    "portfolio_concentration": lambda d: PortfolioConcentrationGate(d.constitution),
    "correlation_cap": lambda d: CorrelationCapGate(d.constitution),
    "vol_target": lambda d: VolTargetGate(d.constitution),
    # liquidity: the order's share of what the market trades
    "liquidity_participation": lambda d: LiquidityParticipationGate(d.constitution),
    # liquidity regime: THIN cuts an entry to its max order (and narrows its collar)
    "liquidity_regime": lambda d: LiquidityRegimeGate(d.constitution),
    # instrument increments, then pre-trade controls right before the order leaves
    "instrument_sanity": lambda d: InstrumentSanityGate(),
    "order_size": lambda d: OrderSizeGate(d.constitution),
    "price_collar": lambda d: PriceCollarGate(d.constitution),
    "duplicate_order": lambda d: DuplicateOrderGate(),
    "rate_throttle": lambda d: RateThrottleGate(d.constitution),
    "cancel_loop": lambda d: CancelLoopGate(d.constitution),
}

# ARCHITECTURE.md order: trading state -> session -> constitution -> entry policy -> governor -> pretrade.
# Every gate after the first checks only shrinks an order, so an earlier limit check stays true.
DEFAULT_CHAIN: tuple[str, ...] = (
    "trading_state",
    "canary",
    "session_open",
    "no_trade_window",
    "flatten_deadline",
    "min_capital",
    "daily_loss_cap",
    "consecutive_losses",
    "trades_per_day",
    "position_limit",
    "per_trade_risk",
    "dvs_floor",
    "eqs_floor",
    "entry_confidence",
    "entry_global_cooldown",
    "entry_symbol_cooldown",
    "entry_max_positions",
    "entry_max_exposure",
    "entry_scale_in",
    "entry_symbol_exposure",
    "entry_symbol_positions",
    "entry_regime",
    "quarantine",
    "entry_allocation",
    "governor",
    "portfolio_concentration",
    "correlation_cap",
    "vol_target",
    "liquidity_participation",
    "liquidity_regime",
    "instrument_sanity",
    "order_size",
    "price_collar",
    "duplicate_order",
    "rate_throttle",
    "cancel_loop",
)

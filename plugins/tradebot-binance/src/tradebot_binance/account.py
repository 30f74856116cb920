"""Account set-up and reports: position mode, margin type, leverage; balances and positions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from binance.exceptions import BinanceAPIException
from loguru import logger

from tradebot.domain.errors import BrokerError, ErrorScope
from tradebot.domain.events import AccountSnapshot, PositionSnapshot
from tradebot_binance.config import BinanceConfig
from tradebot_binance.errors import ACCOUNT_SETUP_FAILED, as_broker_error, state_error
from tradebot_binance.rest import BinanceRest

NO_NEED_TO_CHANGE_MARGIN = -4046
NO_NEED_TO_CHANGE_POSITION_SIDE = -4059


def parse_positions(rows: Sequence[Mapping[str, Any]]) -> list[PositionSnapshot]:
    """/fapi/v3/positionRisk rows → non-zero positions, netted per symbol (hedge-mode legs summed)."""
    by_symbol: dict[str, tuple[Decimal, Decimal]] = {}
    for row in rows:
        qty = Decimal(str(row.get("positionAmt", "0")))
        if qty == 0:
            continue
        symbol = str(row["symbol"])
        price = Decimal(str(row.get("entryPrice", "0")))
        held_qty, held_cost = by_symbol.get(symbol, (Decimal(0), Decimal(0)))
        by_symbol[symbol] = (held_qty + qty, held_cost + qty * price)
    out = []
    for symbol, (qty, cost) in sorted(by_symbol.items()):
        if qty != 0:
            out.append(PositionSnapshot(symbol=symbol, quantity=qty, avg_price=(cost / qty).normalize()))
    return out


def parse_account(raw: Mapping[str, Any], currency: str) -> AccountSnapshot:
    """/fapi/v2/account → equity (total margin balance) and buying power (available balance)."""
    return AccountSnapshot(
        currency=currency,
        equity=Decimal(str(raw.get("totalMarginBalance", raw.get("totalWalletBalance", "0")))),
        buying_power=Decimal(str(raw.get("availableBalance", "0"))),
        account_id="binance-usdm",
    )


def parse_balances(rows: Sequence[Mapping[str, Any]]) -> dict[str, Decimal]:
    return {str(r["asset"]): Decimal(str(r.get("balance", "0"))) for r in rows}


class AccountSetup:
    """Checks (and where it is safe, sets) position mode, margin type and leverage."""

    def __init__(self, rest: BinanceRest, config: BinanceConfig) -> None:
        self._rest = rest
        self._config = config
        self.leverage: dict[str, int] = {}

    async def ensure_position_mode(self) -> None:
        client = self._rest.client
        res = await self._rest.read("position mode", lambda: client.futures_get_position_mode())
        want_dual = self._config.position_mode == "HEDGE"
        if bool(res.get("dualSidePosition")) == want_dual:
            return
        logger.warning(
            "binance position mode differs from config ({}): changing it", self._config.position_mode
        )
        try:
            await self._rest.write(
                "change position mode",
                lambda: client.futures_change_position_mode(
                    dualSidePosition="true" if want_dual else "false"
                ),
            )
        except BrokerError as exc:
            raise state_error(
                ACCOUNT_SETUP_FAILED,
                f"binance position mode is not {self._config.position_mode} and cannot be changed: {exc}",
                ErrorScope.GLOBAL,
            ) from exc

    async def ensure_margin_type(self, symbol: str) -> None:
        client = self._rest.client
        rows = await self._rest.read("symbol config", lambda: client.futures_symbol_config(symbol=symbol))
        current = next((r for r in rows if r.get("symbol") == symbol), None)
        if current is not None:
            if "leverage" in current:
                self.leverage[symbol] = int(current["leverage"])
            if str(current.get("marginType", "")).upper() == self._config.margin_type:
                return
        try:
            await client.futures_change_margin_type(symbol=symbol, marginType=self._config.margin_type)
        except BinanceAPIException as exc:
            if exc.code == NO_NEED_TO_CHANGE_MARGIN:
                return
            raise state_error(
                ACCOUNT_SETUP_FAILED,
                f"binance margin type of {symbol} is not {self._config.margin_type}: {exc}",
                ErrorScope.GLOBAL,
            ) from exc
        except Exception as exc:
            raise as_broker_error(exc, f"margin type {symbol}") from exc

    async def set_leverage(self, symbol: str, leverage: int) -> int:
        """Set ``symbol``'s leverage (the governor's clamped value); returns what the venue applied."""
        if leverage < 1:
            raise ValueError(f"leverage for {symbol} must be >= 1, got {leverage}")
        if self.leverage.get(symbol) == leverage:
            return leverage
        client = self._rest.client
        res = await self._rest.write(
            f"set leverage {symbol}", lambda: client.futures_change_leverage(symbol=symbol, leverage=leverage)
        )
        applied = int(res.get("leverage", leverage))
        self.leverage[symbol] = applied
        return applied

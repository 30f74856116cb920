"""The simulated venue's instrument catalog: configured specs, then the default spec for any other symbol."""

from __future__ import annotations

from tradebot.brokers.sim.config import SimConfig
from tradebot.brokers.sim.errors import SimUnknownInstrumentError
from tradebot.domain.instruments import Instrument


class InstrumentCatalog:
    def __init__(self, config: SimConfig) -> None:
        self._config = config
        self._instruments: dict[str, Instrument] = {
            symbol: spec.build(symbol) for symbol, spec in config.instruments.items()
        }

    def register(self, instrument: Instrument) -> None:
        """Make the venue trade ``instrument`` with exactly this spec (e.g. the runtime config's)."""
        self._instruments[instrument.symbol] = instrument

    def get(self, symbol: str) -> Instrument:
        found = self._instruments.get(symbol)
        if found is not None:
            return found
        if self._config.default_instrument is None:
            raise SimUnknownInstrumentError(symbol)
        instrument = self._config.default_instrument.build(symbol)
        self._instruments[symbol] = instrument
        return instrument

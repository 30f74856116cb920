"""Trade intents from outside the strategy: schema v1.1 (v1.0 accepted), parsing, sources.

    parse_intent(obj, instruments, now) -> OrderIntent          # IntentValidationError(field, message)
    parse_intent_detailed(...) -> ParsedIntent(intent, ignored, line)
    JsonlIntentSource(path_or_dash, instruments, clock)   # async iter of ParsedIntent | IntentRefusal
    IntentSource                                          # the protocol other sources implement
"""

from tradebot.intents.parse import IntentValidationError, ParsedIntent, parse_intent, parse_intent_detailed
from tradebot.intents.schema import SCHEMA_VERSIONS, TradeIntentWire
from tradebot.intents.source import IntentRefusal, IntentSource, JsonlIntentSource

__all__ = [
    "SCHEMA_VERSIONS",
    "IntentRefusal",
    "IntentSource",
    "IntentValidationError",
    "JsonlIntentSource",
    "ParsedIntent",
    "TradeIntentWire",
    "parse_intent",
    "parse_intent_detailed",
]

"""Sizing: a signal and the current position -> an OrderIntent (or nothing) and a record of why.

    FixedFractionSizer(FixedFractionParams(...)).size(signal, ctx) -> SizingResult
    AiSizer(base_sizer, AiSizerParams(mode=SizerMode.SHADOW | LIVE, ...)).size(signal, ctx) -> SizingResult
    EngineSizer(sizer, has_leverage=..., max_qty=...)  # the pipeline's Sizer callable
"""

from tradebot.sizing.adapter import EngineSizer
from tradebot.sizing.ai_sizer import AiSizer, AiSizerParams, SizerInputError, SizerMode
from tradebot.sizing.context import Sizer, SizingContext, SizingResult
from tradebot.sizing.fixed_fraction import FixedFractionParams, FixedFractionSizer
from tradebot.sizing.harvest import HarvestConfig, HarvestParams
from tradebot.sizing.intent_builder import Action, decide_action, intent_id

__all__ = [
    "Action",
    "AiSizer",
    "AiSizerParams",
    "EngineSizer",
    "FixedFractionParams",
    "FixedFractionSizer",
    "HarvestConfig",
    "HarvestParams",
    "Sizer",
    "SizerInputError",
    "SizerMode",
    "SizingContext",
    "SizingResult",
    "decide_action",
    "intent_id",
]

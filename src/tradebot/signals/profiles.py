"""Building an ensemble for a named profile. An unknown profile is an error, never a fallback."""

from __future__ import annotations

from collections.abc import Iterable

from tradebot.signals.ensemble import Ensemble
from tradebot.signals.params import PROFILE_NAMES, EnsembleParams
from tradebot.signals.registry import EntryPointLister, _installed, make_component
from tradebot.signals.volatility import VolatilityRegime


class UnknownProfileError(ValueError):
    def __init__(self, profile: str, valid: Iterable[str] = PROFILE_NAMES) -> None:
        self.profile = profile
        self.valid = tuple(valid)
        super().__init__(f"unknown signal profile {profile!r}; valid profiles: {', '.join(self.valid)}")

    @classmethod
    def check(cls, profile: str) -> None:
        """Raise for a profile name that is not one of ``PROFILE_NAMES``."""
        if profile not in PROFILE_NAMES:
            raise cls(profile)


def build_ensemble(
    profile: str,
    symbol: str,
    params: EnsembleParams | None = None,
    *,
    lister: EntryPointLister = _installed,
) -> Ensemble:
    """A fresh ensemble for ``symbol``. Without ``params``, the profile's parameters come from the default
    model artifact shipped with tradebot (verified on first use)."""
    if params is None:
        if profile not in PROFILE_NAMES:
            raise UnknownProfileError(profile)
        from tradebot.models.loader import default_ensemble_params

        params = default_ensemble_params(profile)
    elif params.profile != profile:
        raise ValueError(f"params are for profile {params.profile!r}, not {profile!r}")
    components = [(make_component(spec.name, spec.params, lister), spec.weight) for spec in params.components]
    return Ensemble(symbol, params, components, VolatilityRegime(params.volatility))

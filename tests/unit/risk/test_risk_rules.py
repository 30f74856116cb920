from datetime import time

import pytest
from pydantic import ValidationError

from tradebot.risk.rules import GovernorRules, SessionRules, Window


def test_windows_wrap_past_midnight() -> None:
    overnight = Window(start=time(22, 0), end=time(2, 0))
    assert overnight.contains(time(23, 0)) and overnight.contains(time(1, 0))
    assert not overnight.contains(time(12, 0))


def test_bad_values_are_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown timezone"):
        SessionRules(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="min_leverage"):
        GovernorRules(min_leverage=90)

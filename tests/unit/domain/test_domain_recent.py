import pytest

from tradebot.domain.recent import RecentIds


def test_it_remembers_the_most_recent_keys_first_in_first_out() -> None:
    seen: RecentIds[str] = RecentIds(3)
    assert [seen.add(k) for k in ("a", "b", "c")] == [True, True, True]
    assert not seen.add("b")  # a repeat is not added again and does not refresh its place
    assert seen.add("d")
    assert "a" not in seen and all(k in seen for k in ("b", "c", "d")) and len(seen) == 3


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RecentIds(0)

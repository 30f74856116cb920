from tradebot.risk.registry import DEFAULT_CHAIN, GATES


def test_default_chain_uses_known_gates_once_in_architecture_order() -> None:
    assert set(DEFAULT_CHAIN) == set(GATES) and len(DEFAULT_CHAIN) == len(set(DEFAULT_CHAIN))
    order = [
        DEFAULT_CHAIN.index(n)
        for n in (
            "trading_state",
            "session_open",
            "daily_loss_cap",
            "entry_confidence",
            "governor",
            "order_size",
        )
    ]
    assert order == sorted(order)

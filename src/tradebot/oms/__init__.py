"""Order management: client order ids, the write-ahead ledger, the order state machine."""

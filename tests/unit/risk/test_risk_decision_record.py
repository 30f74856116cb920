import json

from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.build import DEFAULT_CHAIN, build_chain
from tradebot.risk.decision_record import decision_record


def test_record_is_json_and_names_every_verdict_and_hash() -> None:
    chain = build_chain(DEFAULT_CHAIN, constitution())
    decision = chain.evaluate(intent(), ctx(dvs=0.5))
    record = decision_record(decision, constitution_sha256=constitution().sha256)
    text = json.dumps(record)
    assert record["outcome"] == "BLOCKED" and record["code"] == reasons.DVS_BLOCK
    assert record["verdicts"][-1]["gate"] == "dvs_floor"
    assert record["config_hash"] == chain.config_hash and constitution().sha256 in text
    assert record["intent"]["quantity"] == "1"


def test_approved_record() -> None:
    decision = build_chain(DEFAULT_CHAIN, constitution()).evaluate(intent(), ctx())
    record = decision_record(decision)
    assert record["outcome"] == "APPROVED" and record["code"] == reasons.APPROVED
    assert len(record["verdicts"]) == len(DEFAULT_CHAIN)

"""Operator control over the control socket during a running replay, and secrets that never leak."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot, weeks_of

from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(300)


def _count(store: Path, kind: str) -> int:
    try:
        with StoreReader(store) as reader:
            return reader.count_by_kind().get(kind, 0)
    except Exception:
        return 0


def test_kill_over_the_socket_halts_cancels_and_is_recorded(tmp_path: Path, sample: Path) -> None:
    run_dir = tmp_path / "run"
    env = run_env(run_dir)
    store = tmp_path / "kill.db"
    # four weeks of the sample's bars: intents keep coming long after the kill lands
    data = weeks_of(sample, 4, tmp_path / "four_weeks.csv")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradebot.cli", "replay", "--data", str(data), "--out", str(store)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    # wait until the first orders are out (the first entries come on Monday's RTH)
    while _count(store, "order_submit") < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the replay finished before the kill"
    killed = tradebot(
        "kill",
        "--cancel-all",
        "--reason",
        "operator test",
        "--runtime-dir",
        str(run_dir / "control"),
        env=env,
    )
    assert killed.returncode == 0, killed.stdout + killed.stderr
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 5, err  # the run ends HALTED
    assert re.search(r"^trading state: +HALTED", out, re.M)

    with StoreReader(store) as reader:
        events = list(reader.iter_events())
    halts = [e for e in events if e.kind == "trading_state" and e.body["code"] == "KILL_SWITCH"]
    assert len(halts) == 1 and halts[0].body["details"]["reason"] == "operator test"
    kill_seq = halts[0].seq
    cancel_all = [e for e in events if e.kind == "cancel_all"]
    assert cancel_all and cancel_all[0].body["sent"] and cancel_all[0].seq > kill_seq
    entries_after = [
        e for e in events if e.kind == "order_submit" and e.seq > kill_seq and not e.body["reduce_only"]
    ]
    assert entries_after == []  # nothing new after the kill
    blocked_after = [
        e for e in events if e.kind == "decision" and e.seq > kill_seq and e.body["code"] == "KILL_SWITCH"
    ]
    assert blocked_after, "later intents must be blocked by the halt"
    alerts = [e for e in events if e.kind == "ALERT_HALT"]
    assert alerts

    # the halt survives a restart: the next run on the same store comes up halted
    again = tradebot("replay", "--data", str(data), "--store", str(store), "--resume", env=env)
    assert again.returncode == 5 and re.search(r"^trading state: +HALTED", again.stdout, re.M)


def test_a_known_secret_appears_nowhere(tmp_path: Path) -> None:
    secret = "tok-9f8e7d6c5b4a39281706"
    config = tmp_path / "secret.toml"
    base = (REPO / "config" / "tradebot.toml").read_text()
    config.write_text(
        base.replace(
            'constitution = "config/constitution.yaml"',
            f'constitution = "{REPO / "config" / "constitution.yaml"}"',
        )
        + f'\n[ops.alerts]\nwebhook_url = "http://127.0.0.1:9/hook?token={secret}"\nwebhook_timeout_s = 0.2\n'
    )
    run_dir = tmp_path / "run"
    store = tmp_path / "secret.db"
    result = tradebot(
        "run", "--mode", "observe", "--config", str(config), "--store", str(store), env=run_env(run_dir)
    )
    assert result.returncode == 0, result.stderr
    assert "ALERT_HALT" in result.stderr  # alerts fired (and went to the unreachable webhook)
    checked = 0
    for path in [*run_dir.rglob("*"), *tmp_path.glob("secret.db*")]:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"the secret leaked into {path}"
            checked += 1
    assert checked >= 3  # the manifest, the JSON log, the store
    assert secret not in result.stdout and secret not in result.stderr
    shown = tradebot("config", "check", "--config", str(config))
    assert shown.returncode == 0 and secret not in shown.stdout

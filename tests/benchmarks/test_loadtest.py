"""The load generator against the real hand-made stack: reads and keyed, idempotent writes."""

from __future__ import annotations

import json
import sqlite3

from benchmarks import loadtest


def test_open_loop_with_writes_reads_final_and_stores_listens(handmade_stack, capsys, monkeypatch):
    s = handmade_stack.settings
    for name in ("events_api_keys", "events_db", "data_dir"):
        value = s.value_of(name)
        monkeypatch.setenv(
            f"MUSIC_RECS_{name.upper()}",
            value.get_secret_value() if hasattr(value, "get_secret_value") else str(value),
        )
    monkeypatch.setattr(loadtest, "get_settings", lambda: s)
    before = sqlite3.connect(s.events_db).execute("SELECT count(*) FROM events").fetchone()[0]
    rc = loadtest.main(
        [
            "--url",
            handmade_stack.url("final"),
            "--events-url",
            handmade_stack.url("events"),
            "--warehouse",
            str(s.warehouse_path),
            "--rate",
            "40",
            "--duration",
            "2",
            "--write-share",
            "0.5",
            "--k",
            "3",
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    after = sqlite3.connect(s.events_db).execute("SELECT count(*) FROM events").fetchone()[0]
    assert rc == 0 and result["errors"] == 0, result["error_samples"]
    assert result["requests"] == 80 and 20 <= result["writes"] <= 60
    assert after - before == result["writes"]  # every write stored once (fresh idempotency keys)

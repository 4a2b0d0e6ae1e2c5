"""`pixel db` on the embedded SQLite store (a fresh state dir per test)."""

from __future__ import annotations

import asyncio
import stat

from pipeline_lib.cli import main


def test_upgrade_current_downgrade(state, capsys):
    assert main(["db", "upgrade"]) == 0
    assert (state / "pixel.db").exists()
    capsys.readouterr()
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.strip() == "0002"
    assert main(["db", "downgrade", "--revision", "base"]) == 0
    capsys.readouterr()
    main(["db", "current"])
    assert "base" in capsys.readouterr().out


def test_keygen_prints_or_writes_a_private_file(state, capsys):
    assert main(["db", "keygen"]) == 0
    assert len(capsys.readouterr().out.strip()) == 44  # 32 bytes, URL-safe base64
    assert main(["db", "keygen", "--out", str(state / "prod.key")]) == 0
    assert stat.S_IMODE((state / "prod.key").stat().st_mode) == 0o600


def test_production_store_without_a_key_says_how_to_make_one(state, capsys):
    url = f"sqlite+aiosqlite:///{state / 'prod.db'}"
    code = main(["db", "seed-synthetic", "--count", "5", "--store", "postgres", "--url", url])
    assert code == 2
    assert "pixel db keygen" in capsys.readouterr().err.replace("\n", " ")


def test_replay_writes_what_a_recorder_could_not(state, capsys):
    from pipeline_lib.store.recorder import Recorder
    from pipeline_lib.store.settings_loading import load_store_settings
    from pipeline_lib.store.synthetic import synthetic_outcomes

    async def spool_without_database():
        dead = load_store_settings("default", ["url=postgresql+asyncpg://postgres@127.0.0.1:9/none"])
        async with Recorder.from_settings(dead) as recorder:
            for outcome in synthetic_outcomes(20):
                await recorder.record(outcome)
            assert await recorder.flush() == 20

    asyncio.run(spool_without_database())
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["db", "replay"]) == 0
    assert "replayed 20 outcomes" in capsys.readouterr().err.replace("\n", " ")
    assert main(["db", "replay"]) == 0
    assert "replayed 0 outcomes" in capsys.readouterr().err.replace("\n", " ")


def test_unreachable_database_is_a_clear_error(state, capsys):
    code = main(["db", "upgrade", "--url", "postgresql://postgres@127.0.0.1:9/none"])
    assert code == 2
    assert "cannot reach the store database" in capsys.readouterr().err.replace("\n", " ")

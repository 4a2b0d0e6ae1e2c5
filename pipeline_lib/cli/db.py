"""`pixel db`: migrate the outcome store, make a key, replay the spool, seed synthetic data."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from rich.console import Console

from pipeline_lib.errors import PixelError
from pipeline_lib.store.settings import StoreSettings

console = Console(stderr=True)


class StoreUnavailableError(PixelError):
    """The store database cannot be reached or used; the message names it and what to check."""


def run_store_call(settings: StoreSettings, call):
    """Run `call()` (which may use asyncio.run) and turn database failures into a clear error."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return call()
    except (OSError, SQLAlchemyError) as exc:
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        hint = "run `pixel db upgrade` first" if "no such table" in str(exc) or "does not exist" in str(
            exc
        ) else "is it running? check --url or $PIXEL_DB_URL"
        raise StoreUnavailableError(
            f"cannot reach the store database at {where} ({type(exc).__name__}); {hint}"
        ) from exc


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `pixel db` and `pixel report` to pick the store."""
    parser.add_argument(
        "--store", default="default", metavar="NAME", help="config in configs/store/ (default, postgres)"
    )
    parser.add_argument("--url", help="database URL (overrides the config and $PIXEL_DB_URL)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a store setting, e.g. --set spool.batch_size=100 (repeatable)",
    )


def settings_from_args(args: argparse.Namespace) -> StoreSettings:
    from pipeline_lib.store.settings_loading import load_store_settings

    if not getattr(args, "verbose", False):
        logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = load_store_settings(args.store, args.overrides)
    return settings.with_url(args.url)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "db",
        help="outcome store: migrations, key, spool replay",
        description="Manage the outcome store (SQLite by default, PostgreSQL with --store postgres "
        "or --url). See docs/store.md.",
    )
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    upgrade = actions.add_parser("upgrade", help="migrate the schema up (default: to head)")
    upgrade.add_argument("--revision", default="head")
    upgrade.set_defaults(func=_upgrade)

    downgrade = actions.add_parser("downgrade", help="migrate down (default: one step; 'base' = empty)")
    downgrade.add_argument("--revision", default="-1")
    downgrade.set_defaults(func=_downgrade)

    current = actions.add_parser("current", help="print the schema revision of the database")
    current.set_defaults(func=_current)

    keygen = actions.add_parser(
        "keygen",
        help="make a store encryption key",
        description="Print a new key (for $PIXEL_STORE_KEY) or write it to a 0600 file with --out. "
        "Keep a copy safe: stored text cannot be read without it.",
    )
    keygen.add_argument("--out", type=Path, help="write the key to this file (mode 0600)")
    keygen.set_defaults(func=_keygen)

    replay = actions.add_parser("replay", help="write spooled outcomes to the database now")
    replay.add_argument("--spool-dir", type=Path, help="spool directory (default from the config)")
    replay.set_defaults(func=_replay)

    seed = actions.add_parser(
        "seed-synthetic",
        help="record synthetic outcomes (model 'synthetic') for trying `pixel report`",
    )
    seed.add_argument("--count", type=int, default=1000)
    seed.add_argument("--seed", type=int, default=0)
    seed.add_argument("--feedback", type=float, default=0.2, help="share of outcomes given a rating")
    seed.set_defaults(func=_seed)

    for sub in (upgrade, downgrade, current, replay, seed):
        add_store_options(sub)


def _upgrade(args) -> int:
    return _migrate(args, "upgrade")


def _downgrade(args) -> int:
    return _migrate(args, "downgrade")


def _migrate(args, direction: str) -> int:
    """Run `migrate.upgrade` or `migrate.downgrade` to args.revision and print where it ended."""
    from pipeline_lib.store import migrate

    settings = settings_from_args(args)
    url = settings.database_url
    step = getattr(migrate, direction)
    run_store_call(settings, lambda: step(url, args.revision))
    console.print(f"[green]schema at[/] {asyncio.run(migrate.current_revision(url)) or 'base (empty)'}")
    return 0


def _current(args) -> int:
    from pipeline_lib.store import migrate

    settings = settings_from_args(args)
    revision = run_store_call(
        settings, lambda: asyncio.run(migrate.current_revision(settings.database_url))
    )
    Console().print(revision or "base (empty)")
    return 0


def _keygen(args) -> int:
    from pipeline_lib.store.crypto import new_key, write_key_file

    if args.out:
        write_key_file(args.out)
        console.print(f"[green]wrote a new store key to[/] {args.out} (0600); keep a copy safe")
    else:
        sys.stdout.write(new_key() + "\n")
    return 0


def _replay(args) -> int:
    from dataclasses import replace

    from pipeline_lib.store.engine import create_engine
    from pipeline_lib.store.replay import replay
    from pipeline_lib.store.spool import Spool

    settings = settings_from_args(args)
    if args.spool_dir:
        settings = replace(settings, spool=replace(settings.spool, dir=args.spool_dir))

    async def run():
        engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
        try:
            return await replay(
                spool=Spool(settings.spool_dir), engine=engine, batch_size=settings.spool.batch_size
            )
        finally:
            await engine.dispose()

    result = run_store_call(settings, lambda: asyncio.run(run()))
    console.print(
        f"replayed {result.outcomes} outcomes from {result.segments} segments: {result.written} new, "
        f"{result.duplicates} already stored, {result.rejected} rejected"
    )
    return 0


def _seed(args) -> int:
    from sqlalchemy.engine import make_url

    from pipeline_lib.store.seeding import seed_synthetic

    settings = settings_from_args(args)
    written = run_store_call(
        settings,
        lambda: asyncio.run(
            seed_synthetic(settings, count=args.count, seed=args.seed, feedback_share=args.feedback)
        ),
    )
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    console.print(f"recorded {written} synthetic outcomes in {where}")
    return 0

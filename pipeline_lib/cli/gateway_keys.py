"""`pixel gateway-keys`: make, list and revoke the gateway's API keys (stored hashed)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


def add_parser(sub) -> None:
    p = sub.add_parser(
        "gateway-keys", help="make, list and revoke API keys of `pixel gateway`",
        description="API keys for `pixel gateway`. The keys file keeps only SHA-256 hashes; a new "
                    "key is printed once and cannot be shown again. Without a keys file (and "
                    "without $PIXEL_GATEWAY_KEYS) the embedded gateway needs no key.")
    p.add_argument("--keys-file", metavar="PATH", help="default: .pixel/gateway_keys.json "
                   "(gateway.keys.file)")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a key and print it (once)")
    create.add_argument("name", help="who holds it, e.g. support-app (letters, digits, _ . -)")
    create.add_argument("--requests-per-minute", type=float, metavar="N",
                        help="this key's rate limit (default gateway.rate_limit)")
    create.add_argument("--env", action="store_true", help="also print the NAME:HASH entry "
                        "for $PIXEL_GATEWAY_KEYS (deployments without a keys file)")
    actions.add_parser("list", help="names and creation times (never the keys)")
    revoke = actions.add_parser("revoke", help="remove a key by name")
    revoke.add_argument("name")
    p.set_defaults(func=run)


def _path(args) -> Path:
    if args.keys_file:
        return Path(args.keys_file)
    from pipeline_lib.composition import load_app_config

    return load_app_config().gateway.keys_path


def run(args) -> int:
    from pipeline_lib.gateway import keys as gateway_keys

    console = Console()
    path = _path(args)
    if args.action == "create":
        key = gateway_keys.create_key(path, args.name,
                                      requests_per_minute=args.requests_per_minute)
        console.print(f"key for [bold]{args.name}[/] (shown once; stored hashed in {path}):")
        print(key)
        if args.env:
            print(f"PIXEL_GATEWAY_KEYS entry: {args.name}:{gateway_keys.key_hash(key)}")
        return 0
    if args.action == "revoke":
        if not gateway_keys.revoke_key(path, args.name):
            console.print(f"[red]no key named {args.name!r} in {path}[/]")
            return 1
        console.print(f"revoked {args.name}")
        return 0
    entries = gateway_keys.read_file(path) if path.exists() else []
    table = Table("name", "created", "requests/min", title=str(path))
    for entry in entries:
        table.add_row(entry.name, entry.created_at,
                      "default" if entry.requests_per_minute is None
                      else f"{entry.requests_per_minute:g}")
    console.print(table)
    return 0

"""API keys: made once by `pixel gateway-keys create`, stored only as SHA-256 hashes.

A key is `pxk-` + 43 random URL-safe characters (256 bits), so a plain SHA-256 is enough to
store it (a slow password hash guards guessable secrets, and these are not guessable). The keys
file is JSON, mode 0600: {"keys": [{"name", "sha256", "created_at", "requests_per_minute"}]}.
Deployments can pass hashes in an environment variable instead: "name:sha256hex,name2:...".
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipeline_lib.errors import ConfigError, InvalidInputError
from pipeline_lib.gateway.errors import GatewayError

KEY_PREFIX = "pxk-"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyEntry:
    name: str  # who holds it (an application, a team); shown in logs, never the key
    sha256: str
    created_at: str = ""
    requests_per_minute: float | None = None  # None: the gateway's rate_limit

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise InvalidInputError("name", "1-64 characters: letters, digits, '_', '.', '-'")
        if not _HEX64.match(self.sha256):
            raise InvalidInputError("sha256", "must be 64 lowercase hex digits")


class KeyStore:
    """The accepted keys. Empty means no key is needed (the embedded default only)."""

    def __init__(self, entries: Iterable[KeyEntry] = ()):
        self._by_hash = {entry.sha256: entry for entry in entries}

    @property
    def required(self) -> bool:
        return bool(self._by_hash)

    def __len__(self) -> int:
        return len(self._by_hash)

    def authenticate(self, authorization: str | None) -> KeyEntry | None:
        """The key's entry for an `Authorization: Bearer <key>` header; None when no key is
        required; a 401 GatewayError in the OpenAI shape otherwise."""
        if not self.required:
            return None
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise GatewayError(401, "missing API key: send `Authorization: Bearer <key>` (make "
                                    "one with `pixel gateway-keys create NAME`)",
                               type="authentication_error", code="missing_api_key")
        entry = self._by_hash.get(key_hash(key.strip()))
        if entry is None:
            raise GatewayError(401, "invalid API key", type="authentication_error",
                               code="invalid_api_key")
        return entry

    @classmethod
    def load(cls, path: Path, *, env: Mapping[str, str] | None = None,
             env_name: str = "PIXEL_GATEWAY_KEYS") -> KeyStore:
        """Keys from the file (if it exists) and from the environment variable (if set)."""
        entries = read_file(path) if path.exists() else []
        value = (os.environ if env is None else env).get(env_name, "").strip()
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, _, digest = item.partition(":")
            try:
                entries.append(KeyEntry(name=name, sha256=digest.lower()))
            except InvalidInputError as exc:
                raise ConfigError(f"${env_name}: entries are name:sha256hex ({exc})") from None
        return cls(entries)


def read_file(path: Path) -> list[KeyEntry]:
    try:
        data = json.loads(path.read_text())
        return [KeyEntry(**item) for item in data["keys"]]
    except (OSError, ValueError, KeyError, TypeError, InvalidInputError) as exc:
        raise ConfigError(f"keys file {path} is unreadable ({type(exc).__name__}: {exc}); make "
                          "it again with `pixel gateway-keys create`") from None


def _write_file(path: Path, entries: list[KeyEntry]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"keys": [asdict(e) for e in entries]}, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def create_key(path: Path, name: str, *, requests_per_minute: float | None = None) -> str:
    """Add a key named `name` to the file and return it: the only time it is ever shown."""
    entries = read_file(path) if path.exists() else []
    if any(e.name == name for e in entries):
        raise InvalidInputError("name", f"a key named {name!r} exists; revoke it first")
    key = new_key()
    entries.append(KeyEntry(name=name, sha256=key_hash(key),
                            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            requests_per_minute=requests_per_minute))
    _write_file(path, entries)
    return key


def revoke_key(path: Path, name: str) -> bool:
    """Remove the key named `name`; False if there was none."""
    entries = read_file(path) if path.exists() else []
    kept = [e for e in entries if e.name != name]
    if len(kept) == len(entries):
        return False
    _write_file(path, kept)
    return True

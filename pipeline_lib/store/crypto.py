"""Keys, text encryption and session-id HMACs.

One 32-byte master key (from the environment or a key file) is expanded with HKDF into two
independent subkeys: one for AES-256-GCM on user text and responses, one for HMAC-SHA256 on session
ids. The request id and the column name are the GCM associated data, so a ciphertext copied into
another row or column fails to decrypt instead of decrypting to the wrong thing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pipeline_lib.errors import PixelError
from pipeline_lib.store.settings import StoreSettings

log = logging.getLogger(__name__)

KEY_BYTES = 32
_FORMAT_V1 = b"\x01"  # leading byte of every ciphertext, so the format can change later
_NONCE_BYTES = 12


class StoreKeyError(PixelError):
    """The store key is missing, malformed or wrong; the message says how to fix it."""


def new_key() -> str:
    """A fresh master key as URL-safe base64 text (what `pixel db keygen` prints)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def write_key_file(path: Path) -> str:
    """Create `path` holding a new key, readable by the owner only (0600); never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise StoreKeyError(f"{path} already exists; refusing to overwrite a store key") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError) as exc:
        raise StoreKeyError(f"{where}: not base64; make a key with `pixel db keygen`") from exc
    if len(raw) != KEY_BYTES:
        raise StoreKeyError(
            f"{where}: key has {len(raw)} bytes, need {KEY_BYTES}; make one with `pixel db keygen`"
        )
    return raw


def load_master_key(settings: StoreSettings) -> bytes:
    """Environment first, then the key file; embedded mode creates the file on first run."""
    env_name = settings.privacy.key_env
    if os.environ.get(env_name):
        return _decode(os.environ[env_name], f"${env_name}")
    path = settings.key_file
    if path.exists():
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("store key file %s is readable by others; run `chmod 600 %s`", path, path)
        return _decode(path.read_text(), str(path))
    if settings.mode == "production":
        raise StoreKeyError(
            f"production mode needs a store key and found none (${env_name} is unset and {path} "
            f"does not exist). Make one with `pixel db keygen --out {path}` (file, mode 0600) or "
            f"`export {env_name}=$(pixel db keygen)`; keep a copy safe, stored text cannot be read "
            "without it."
        )
    log.info("no store key yet: creating %s (0600) for the embedded store", path)
    return _decode(write_key_file(path), str(path))


def _subkey(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@dataclass(frozen=True)
class StoreKeys:
    """Derived keys; build with `from_master` or `from_settings`."""

    text_key: bytes
    session_key: bytes

    @classmethod
    def from_master(cls, master: bytes) -> StoreKeys:
        return cls(
            text_key=_subkey(master, b"pixel-store text v1"),
            session_key=_subkey(master, b"pixel-store session-id v1"),
        )

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> StoreKeys:
        return cls.from_master(load_master_key(settings))

    def session_hash(self, session_id: str) -> str:
        """Keyed HMAC of a session id: stable for joins, useless without the key."""
        return hmac.new(self.session_key, session_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def encrypt(self, text: str, *, request_id: str, column: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.text_key).encrypt(nonce, text.encode("utf-8"), _aad(request_id, column))
        return _FORMAT_V1 + nonce + sealed

    def decrypt(self, blob: bytes, *, request_id: str, column: str) -> str:
        if not blob or blob[:1] != _FORMAT_V1:
            raise StoreKeyError(f"{column} of {request_id}: unknown ciphertext format")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            plain = AESGCM(self.text_key).decrypt(nonce, sealed, _aad(request_id, column))
        except InvalidTag as exc:
            raise StoreKeyError(
                f"{column} of {request_id}: cannot decrypt; wrong key, or the value was moved"
            ) from exc
        return plain.decode("utf-8")


def _aad(request_id: str, column: str) -> bytes:
    return f"{request_id}/{column}".encode("ascii")

"""Personal data at rest: AES-GCM encryption, and a keyed hash for exact look-up without decrypting."""

from __future__ import annotations

import base64
import hashlib
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

KEY_VERSION = b"\x01"


@lru_cache(maxsize=4)
def _keys(master_setting: str, secret_key: str) -> tuple[AESGCM, bytes]:
    if master_setting:
        master = base64.b64decode(master_setting)
        if len(master) != 32:
            raise ValueError("DOORSTEP_FIELD_ENCRYPTION_KEY must be base64 of exactly 32 bytes")
    else:
        master = hashlib.sha256(b"doorstep-field-key:" + secret_key.encode()).digest()
    encryption_key = hashlib.blake2b(master, digest_size=32, person=b"ds-encrypt").digest()
    lookup_key = hashlib.blake2b(master, digest_size=32, person=b"ds-lookup").digest()
    return AESGCM(encryption_key), lookup_key


def _current() -> tuple[AESGCM, bytes]:
    return _keys(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt_text(value: str) -> str:
    return bulk_encrypt([value])[0]


def decrypt_text(token: str) -> str:
    cipher, _ = _current()
    raw = base64.b64decode(token)
    if raw[:1] != KEY_VERSION:
        raise ValueError("unknown key version")
    return cipher.decrypt(raw[1:13], raw[13:], None).decode()


def lookup_hash(value: str) -> str:
    """A keyed hash: equal values give equal hashes, and nobody without the key can test a guess."""
    return bulk_lookup_hash([value])[0]


def bulk_encrypt(values: list[str]) -> list[str]:
    cipher, _ = _current()
    encoded = []
    for value in values:
        nonce = os.urandom(12)
        encoded.append(base64.b64encode(KEY_VERSION + nonce + cipher.encrypt(nonce, value.encode(), None)).decode())
    return encoded


def bulk_lookup_hash(values: list[str]) -> list[str]:
    _, key = _current()
    blake2b = hashlib.blake2b
    return [blake2b(value.strip().encode(), key=key, digest_size=16).hexdigest() for value in values]

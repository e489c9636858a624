"""Read GBCS key pairs from layered directories (reference/gbcs.md §1.4, §1.9).

File naming (../gbcs-rtds/README.md): ``<eui16hex>[-pp]-<ka|ds>.<pem|key>``. A ``.pem`` holds an
X.509 certificate (or a bare SubjectPublicKeyInfo); a ``.key`` holds a PKCS#8 or SEC1 PEM private
key. Certificate validity dates are never enforced: the RTDS test certificates have expired.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from rig.gbcs.errors import GbcsError
from rig.gbcs.eui import Eui64


class Role(StrEnum):
    """What a key pair is for: key agreement or digital signature."""

    KA = "ka"
    DS = "ds"


class KeyNotFound(GbcsError, KeyError):
    """No directory holds the requested key: a :class:`GbcsError`, as a frame naming an unknown
    party is bad input to the codec (issue 13), and still a KeyError for lookups."""

    def __init__(self, eui: Eui64, role: str, dirs: Sequence[Path]) -> None:
        searched = ", ".join(str(d) for d in dirs) or "(no directories)"
        self.message = f"no {role} key for {eui} in {searched}"
        super().__init__(self.message)
        self.eui = eui
        self.role = role
        self.dirs = tuple(dirs)

    def __str__(self) -> str:
        return self.message


class KeyFileError(ValueError):
    """A key file exists but cannot be used; the message names the file."""


def key_file_name(eui: Eui64, role: Role, *, prepayment: bool = False, private: bool) -> str:
    """The keystore file name, e.g. ``90b3d51f30010000-pp-ka.key``."""
    if prepayment and role is not Role.KA:
        raise ValueError("only KA keys have a prepayment variant")
    return f"{eui.hex}{'-pp' if prepayment else ''}-{role}.{'key' if private else 'pem'}"


def _cause(exc: Exception) -> str:
    """The library's reason without its pointer to a FAQ page (one line for a log)."""
    return re.sub(r"\s*See https?://\S+ for more details\.", "", str(exc)).strip()


def _load_private(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a PEM private key ({_cause(exc)})") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyFileError(f"{path}: not a P-256 EC private key")
    return key


def _load_public(path: Path) -> ec.EllipticCurvePublicKey:
    data = path.read_bytes()
    key: PublicKeyTypes  # a PEM public key may be of any type; checked below
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a PEM certificate or public key ({_cause(exc)})") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyFileError(f"{path}: not a P-256 EC public key")
    return key


class KeyStore:
    """Key lookup over directories searched in order, so a bench can layer its own keys first.

    Loaded keys are cached; a malformed file raises :class:`KeyFileError` naming it.
    """

    def __init__(self, dirs: Sequence[Path]) -> None:
        self.dirs = tuple(Path(d) for d in dirs)
        self._privates: dict[tuple[Eui64, Role, bool], ec.EllipticCurvePrivateKey] = {}
        self._publics: dict[tuple[Eui64, Role, bool], ec.EllipticCurvePublicKey] = {}

    def __repr__(self) -> str:
        return f"KeyStore({[str(d) for d in self.dirs]!r})"

    def ka_private(self, eui: Eui64, prepayment: bool = False) -> ec.EllipticCurvePrivateKey:
        """The key-agreement private key (``prepayment`` for the supplier's UTRN key)."""
        return self._private(eui, Role.KA, prepayment)

    def ka_public(self, eui: Eui64, prepayment: bool = False) -> ec.EllipticCurvePublicKey:
        """The key-agreement public key."""
        return self._public(eui, Role.KA, prepayment)

    def ds_private(self, eui: Eui64) -> ec.EllipticCurvePrivateKey:
        """The digital-signature private key."""
        return self._private(eui, Role.DS, False)

    def ds_public(self, eui: Eui64) -> ec.EllipticCurvePublicKey:
        """The digital-signature public key."""
        return self._public(eui, Role.DS, False)

    def _not_found(self, eui: Eui64, role: Role, prepayment: bool, kind: str) -> KeyNotFound:
        label = f"{'prepayment ' if prepayment else ''}{role.upper()} {kind}"
        return KeyNotFound(eui, label, self.dirs)

    def _private(self, eui: Eui64, role: Role, prepayment: bool) -> ec.EllipticCurvePrivateKey:
        if (key := self._privates.get((eui, role, prepayment))) is not None:
            return key
        name = key_file_name(eui, role, prepayment=prepayment, private=True)
        for d in self.dirs:
            if (d / name).is_file():
                return self._privates.setdefault((eui, role, prepayment), _load_private(d / name))
        raise self._not_found(eui, role, prepayment, "private")

    def public_file(self, eui: Eui64, role: Role, prepayment: bool = False) -> Path | None:
        """The file a public key is read from: the first folder's certificate, else its private
        key (None: no folder has either). Error messages name it."""
        certificate = key_file_name(eui, role, prepayment=prepayment, private=False)
        private = key_file_name(eui, role, prepayment=prepayment, private=True)
        for d in self.dirs:
            for name in (certificate, private):
                if (d / name).is_file():
                    return d / name
        return None

    def _public(self, eui: Eui64, role: Role, prepayment: bool) -> ec.EllipticCurvePublicKey:
        if (key := self._publics.get((eui, role, prepayment))) is not None:
            return key
        path = self.public_file(eui, role, prepayment)
        if path is None:
            raise self._not_found(eui, role, prepayment, "public")
        key = _load_public(path) if path.suffix == ".pem" else _load_private(path).public_key()
        return self._publics.setdefault((eui, role, prepayment), key)

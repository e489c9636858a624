"""The bench file's ``[duis]`` table: what ``rig serve`` needs (docs/dcc-boxed.md): the XML
signing keys, each User's response endpoint, and how northbound POSTs are retried."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rig.config.han import BenchError

if TYPE_CHECKING:
    from rig.config.bench import UserConfig
    from rig.config.bench import _Table as Table

#: [ASSUMED] POSTs of one northbound message before it is kept undelivered: DUIS leaves the
#: DCC's redelivery to the User's endpoint unstated in the reference (domain.md §7).
RETRY_ATTEMPTS = 5
#: [ASSUMED] the first wait between two POSTs of a message; it doubles after each.
RETRY_BACKOFF_S = 0.25
#: [ASSUMED] one POST's time limit.
POST_TIMEOUT_S = 5.0
#: The DCC alerts the rig's DSP raises, by event (docs/dcc-boxed.md "DCC alerts"):
#: ``command_failure``, a DSP future-dated command that could not be delivered or got no answer.
DCC_ALERT_EVENTS = ("command_failure",)
#: [ASSUMED] their DUIS DCCAlertCode: the reference has no DCC Alert code table (domain.md §7.4
#: lists the N-codes as NOT FOUND); set them from DUIS's table with ``[duis.dcc_alert_codes]``.
DCC_ALERT_CODES = {"command_failure": "N12"}
#: The DCCAlertCode values of the DUIS 5.4 schema's enumeration: AD1, N1-N65 but N32, N999.
_DCC_ALERT_CODE = re.compile(r"AD1|N(?:[1-9]|[12][0-9]|3[013-9]|[45][0-9]|6[0-5]|999)")


def default_keys() -> Path:
    """``$RIG_SHARED_DIR/duis/xml-sign-keys`` (``../shared`` beside the repository when unset):
    the test keys DCC Boxed's signing tool ships (shared/duis/README.md)."""
    repo = Path(__file__).resolve().parents[2]
    shared = os.environ.get("RIG_SHARED_DIR") or repo.parent / "shared"
    return Path(shared) / "duis" / "xml-sign-keys"


@dataclass(frozen=True)
class DuisConfig:
    """``[duis]``: ``response_urls`` by bench User name; ``keys`` the XML-signing folder;
    ``tls_*`` the northbound POSTs' client certificate and the CA they trust (``https``)."""

    keys: Path = field(default_factory=default_keys)
    response_urls: dict[str, str] = field(default_factory=dict)
    retry_attempts: int = RETRY_ATTEMPTS
    retry_backoff_s: float = RETRY_BACKOFF_S
    post_timeout_s: float = POST_TIMEOUT_S
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None
    tls_ca: Path | None = None
    dcc_alert_codes: dict[str, str] = field(default_factory=lambda: dict(DCC_ALERT_CODES))


def load_duis(table: Table, users: dict[str, UserConfig], resolve: Path) -> DuisConfig:
    """The ``[duis]`` table; ``resolve`` is the bench file's folder (relative ``keys``)."""
    keys = _path(table, "keys", resolve, "an existing folder") or default_keys()
    cert = _path(table, "tls_client_cert", resolve, "an existing PEM certificate file")
    key = _path(table, "tls_client_key", resolve, "an existing PEM private key file")
    if (cert is None) != (key is None):
        missing = "tls_client_key" if key is None else "tls_client_cert"
        raise table._error(missing, "set with its pair (tls_client_cert, tls_client_key)", None)
    attempts = table.get("retry_attempts", int, "a positive integer", RETRY_ATTEMPTS)
    if attempts < 1:
        raise table._error("retry_attempts", "a positive integer", attempts)
    urls: dict[str, str] = {}
    entries = table.get("user", list, "an array of [[duis.user]] tables", [])
    for index, entry in enumerate(entries):
        prefix = f"{table.prefix}user[{index}]."
        if not isinstance(entry, dict):
            raise BenchError(f"{table.path}: {prefix[:-1]}: expected a table")
        user = type(table)(table.path, entry, prefix)
        name = user.get("name", str, "the name of a [[user]] of this bench")
        if name not in users:
            raise user._error("name", f"one of {', '.join(users)}", name)
        if name in urls:
            raise user._error("name", "a User not named by another [[duis.user]]", name)
        url = user.get("response_url", str, "an http:// or https:// URL")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise user._error("response_url", "an http:// or https:// URL", url)
        user.check_unknown()
        urls[name] = url
    config = DuisConfig(
        keys=keys,
        response_urls=urls,
        retry_attempts=attempts,
        retry_backoff_s=table.number("retry_backoff_s", RETRY_BACKOFF_S),
        post_timeout_s=table.number("post_timeout_s", POST_TIMEOUT_S, minimum=1e-3),
        tls_client_cert=cert,
        tls_client_key=key,
        tls_ca=_path(table, "tls_ca", resolve, "an existing PEM CA certificate file"),
        dcc_alert_codes=_alert_codes(table),
    )
    table.check_unknown()
    return config


def _path(table: Table, key: str, resolve: Path, expected: str) -> Path | None:
    """An existing file or folder named by ``key`` (relative to the bench file's folder)."""
    text = table.get(key, str, expected, None)
    if text is None:
        return None
    path = Path(text).expanduser()
    path = path if path.is_absolute() else (resolve / path).resolve()
    if not (path.is_dir() if key == "keys" else path.is_file()):
        raise table._error(key, expected, text)
    return path


def _alert_codes(table: Table) -> dict[str, str]:
    """``[duis.dcc_alert_codes]``: an N-code of the schema per event, over the defaults."""
    codes = dict(DCC_ALERT_CODES)
    entries = table.get("dcc_alert_codes", dict, "a table of event = N-code", {})
    sub = type(table)(table.path, entries, f"{table.prefix}dcc_alert_codes.")
    for event in entries:
        if event not in DCC_ALERT_EVENTS:
            raise sub._error(event, f"one of {', '.join(DCC_ALERT_EVENTS)}")
        code = sub.get(event, str, "a DUIS DCCAlertCode (AD1, N1-N65, N999)")
        if not _DCC_ALERT_CODE.fullmatch(code):
            raise sub._error(event, "a DUIS DCCAlertCode (AD1, N1-N65 but N32, N999)", code)
        codes[event] = code
    return codes

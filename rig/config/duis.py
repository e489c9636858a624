"""The bench file's ``[duis]`` table: what ``rig serve`` needs (docs/dcc-boxed.md): the XML
signing keys, each User's response endpoint, and how northbound POSTs are retried."""

from __future__ import annotations

import os
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


def default_keys() -> Path:
    """``$RIG_SHARED_DIR/duis/xml-sign-keys`` (``../shared`` beside the repository when unset):
    the test keys DCC Boxed's signing tool ships (shared/duis/README.md)."""
    repo = Path(__file__).resolve().parents[2]
    shared = os.environ.get("RIG_SHARED_DIR") or repo.parent / "shared"
    return Path(shared) / "duis" / "xml-sign-keys"


@dataclass(frozen=True)
class DuisConfig:
    """``[duis]``: ``response_urls`` by bench User name; ``keys`` the XML-signing folder."""

    keys: Path = field(default_factory=default_keys)
    response_urls: dict[str, str] = field(default_factory=dict)
    retry_attempts: int = RETRY_ATTEMPTS
    retry_backoff_s: float = RETRY_BACKOFF_S
    post_timeout_s: float = POST_TIMEOUT_S


def load_duis(table: Table, users: dict[str, UserConfig], resolve: Path) -> DuisConfig:
    """The ``[duis]`` table; ``resolve`` is the bench file's folder (relative ``keys``)."""
    keys_text = table.get("keys", str, "a folder of XML-signing keys", None)
    keys = default_keys()
    if keys_text is not None:
        keys = Path(keys_text).expanduser()
        keys = keys if keys.is_absolute() else (resolve / keys).resolve()
        if not keys.is_dir():
            raise table._error("keys", "an existing folder", keys_text)
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
    )
    table.check_unknown()
    return config

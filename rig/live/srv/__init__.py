"""The SRV-specific calls of :class:`~rig.live.orchestrator.Rig`, one small module per SRV family.

Each family is a mixin of ``Rig``: its blocking call (``rig.top_up(...)``), its non-blocking
``submit_*`` twin and, where the body needs the User's counter (a UTRN), its builder. They
reach the loop only through :meth:`SrvCalls._submit`, so a new SRV family adds a module here
and a base of ``Rig``, never a change to the loop. Any SRV without one runs through
:meth:`Rig.request` with its typed body.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import TYPE_CHECKING

from rig.duis.request import Body
from rig.gbcs.eui import Eui64
from rig.results.record import RequestRecord

if TYPE_CHECKING:
    from rig.config.bench import Bench
    from rig.keys.keystore import KeyStore

Mangle = Callable[[bytes], bytes]
#: Builds a request body from the User's originator EUI and the counter allocated to it.
Builder = Callable[[Eui64, int], Body]


class SrvCalls:
    """What an SRV family needs of the rig (``Rig`` provides it)."""

    if TYPE_CHECKING:
        bench: Bench
        _keys: KeyStore

        def _submit(
            self,
            device: str,
            srv: str,
            build: Builder,
            user: str | None,
            *,
            counter: int | None = None,
            mangle: Mangle | None = None,
        ) -> concurrent.futures.Future[RequestRecord]: ...

"""Hold a labgrid place for a run: reserve it, acquire it, read its resources, release it.

Everything goes through labgrid's coordinator with labgrid's own client API: a
:class:`labgrid.remote.client.ClientSession` started as :func:`labgrid.remote.client.start_session`
does, and the coordinator's gRPC requests (``CreateReservation``, ``PollReservation``,
``AcquirePlace``, ``ReleasePlace``, ``CancelReservation``) sent on the session's stub. The
session's command methods (``acquire``, ``create_reservation``...) read their arguments from
``labgrid-client``'s argparse namespace and print; the requests themselves are the stable part.

A named place and a pool are both a labgrid **reservation**: a pool's filter is its tags, a
named place's is ``name=<place>`` (the coordinator matches a place's name as a tag). The
coordinator queues reservations by priority and age, so workers and CI jobs wait their turn in
labgrid's queue, not in ours. While waiting the reservation is polled (which keeps it alive);
on timeout it is cancelled and the error names who holds each candidate place.

Each holder is ``HOST/USER:WORKER:PID`` (the session's user name carries the worker and pid), so
``labgrid-client who`` shows which worker holds which place. labgrid does not release a place
when its client disconnects: the rig releases it when the run ends however it ends (the fixture's
``finally``, :mod:`atexit`, SIGTERM turned into an exit), and a place still held by a dead
process of this host (a SIGKILLed worker) is released by the next rig that asks on this host.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import getpass
import os
import socket
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from rig.config.labgrid import LabgridConfig

#: labgrid's Modbus/TCP coil resource class, and the port its Modbus driver takes when the
#: resource's ``host`` names none (labgrid/resource/modbus.py, labgrid/driver/modbusdriver.py).
MODBUS_TCP_CLASS = "ModbusTCPCoil"
MODBUS_TCP_PORT = 502

T = TypeVar("T")

#: How often a waiting reservation is polled (labgrid's own client polls each 1 s).
POLL_S = 0.5
#: How long a refused acquisition is tried again (two of the coordinator's 15 s resource syncs).
ACQUIRE_TIMEOUT_S = 40.0
#: How long the exporters get to start ser2net for an acquired place's serial ports.
PORTS_TIMEOUT_S = 10.0
#: labgrid's reservation states (labgrid/remote/common.py ReservationState); a reservation's
#: ``allocations`` maps its one filter group, "main", to the place allocated.
WAITING, ALLOCATED, ACQUIRED = 0, 1, 2


class PlaceError(RuntimeError):
    """A place could not be held; one line saying why (and who holds what)."""


@dataclass(frozen=True)
class PlaceResource:
    """One resource of an acquired place: its labgrid class, exporter and parameters."""

    name: str
    cls: str
    exporter: str
    params: Mapping[str, Any]

    @property
    def address(self) -> tuple[str, int] | None:
        """HOST, PORT of a network resource (None until its exporter serves it). labgrid's
        Modbus/TCP resources give both in ``host`` (``HOST[:PORT]``, port 502 if none)."""
        host, port = self.params.get("host"), self.params.get("port")
        if host and self.cls == MODBUS_TCP_CLASS:
            name, colon, number = str(host).rpartition(":")
            if not colon:
                return str(host), MODBUS_TCP_PORT
            return (name, int(number)) if number.isdigit() else None
        return (str(host), int(port)) if host and port else None

    @property
    def url(self) -> str:
        """How the rig opens it: ``rfc2217://HOST:PORT?ign_set_control`` for a served serial
        port. ser2net does not acknowledge DTR/RTS control on a port that has none (a pty, some
        adapters), and pyserial's RFC 2217 client then fails its open waiting for the answer;
        the rig's links set no control lines, so the answers are not waited for."""
        if self.address is None:
            raise PlaceError(f"resource {self.name} ({self.cls}) has no host and port yet")
        return "rfc2217://{}:{}?ign_set_control".format(*self.address)


@dataclass
class HeldPlace:
    """A place this process holds, until :meth:`release` (idempotent; also run at exit)."""

    coordinator: str
    name: str
    holder: str
    token: str
    resources: dict[str, PlaceResource]
    released: bool = field(default=False)

    @property
    def exporters(self) -> list[str]:
        return sorted({r.exporter for r in self.resources.values()})

    def release(self) -> None:
        """Release the place and cancel its reservation (one session, a few ms)."""
        if self.released:
            return
        self.released = True
        atexit.unregister(self.release)
        with Lab(self.coordinator, self.holder) as lab:
            lab.release(self.name, self.token)

    def to_json(self) -> dict[str, Any]:
        """The place as a results record (``kind`` "lab_place")."""
        return {
            "kind": "lab_place",
            "place": self.name,
            "holder": self.holder,
            "coordinator": self.coordinator,
            "exporters": self.exporters,
            "resources": {n: r.cls for n, r in sorted(self.resources.items())},
        }


def holder_name(worker: str | None = None) -> str:
    """This process as a labgrid user: ``USER:WORKER:PID`` (the session adds ``HOST/``)."""
    return f"{getpass.getuser()}:{worker or 'main'}:{os.getpid()}"


def hold_place(
    config: LabgridConfig,
    holder: str,
    timeout_s: float,
    *,
    prio: float = 0.0,
    stop: Callable[[], bool] = lambda: False,
) -> HeldPlace:
    """Reserve and acquire a place as ``config`` says, waiting up to ``timeout_s`` in labgrid's
    queue (or until ``stop()``); released at interpreter exit unless released before."""
    with Lab(config.coordinator, holder) as lab:
        lab.release_dead_holders()
        tags = dict(config.tags) if config.place is None else {"name": config.place}
        lab.check_candidates(tags, config)
        token, name = lab.reserve(tags, timeout_s, config, prio=prio, stop=stop)
        try:
            lab.acquire(name)
            resources = lab.resources(name)
        except BaseException:
            lab.release(name, token)
            raise
    held = HeldPlace(config.coordinator, name, lab.identity, token, resources)
    atexit.register(held.release)
    return held


class Lab:
    """A session with the coordinator as ``holder``, on an event loop of its own."""

    def __init__(self, coordinator: str, holder: str) -> None:
        self.coordinator = coordinator
        self.holder = holder
        self.identity = holder if "/" in holder else f"{socket.gethostname()}/{holder}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: Any = None

    def __enter__(self) -> Lab:
        try:
            from labgrid.remote import client as lg_client
            from labgrid.util.proxy import proxymanager
        except ImportError:
            raise PlaceError(
                "labgrid is not installed (pip install 'gb-smart-rig[lab]'; docs/lab.md)"
            ) from None
        host, user = self.identity.split("/", 1)

        class RigSession(lg_client.ClientSession):
            """labgrid's session, named after this holder rather than the login."""

            def gethostname(self) -> str:
                return host

            def getuser(self) -> str:
                return user

        self._loop = loop = asyncio.new_event_loop()
        address = proxymanager.get_grpc_address(self.coordinator, default_port=20408)

        async def start() -> Any:
            # gRPC's aio channel belongs to the loop running when it is made: this one.
            session = RigSession(address, loop)
            await session.start()
            return session

        try:
            self._session = self._run(start())
        except Exception as exc:
            self._close()
            raise PlaceError(f"labgrid coordinator {self.coordinator}: {exc}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        if self._loop is None:
            return
        try:
            if self._session is not None:
                self._run(self._session.stop())
                self._run(self._session.close())
        finally:
            self._loop.close()
            self._loop = None

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return self._loop.run_until_complete(coroutine)

    def _call(self, method: str, request: Any) -> Any:
        """Send one coordinator request; its error as a PlaceError."""
        import grpc

        async def call() -> Any:
            response = await getattr(self._session.stub, method)(request)
            await self._session.sync_with_coordinator()
            return response

        try:
            return self._run(call())
        except grpc.aio.AioRpcError as exc:
            raise PlaceError(f"labgrid {method}: {exc.details()}") from None

    @property
    def places(self) -> dict[str, Any]:
        """The coordinator's places by name (labgrid ``Place``s), as last heard."""
        return self._session.places

    @property
    def exporters(self) -> set[str]:
        """The names of the exporters connected to the coordinator, as last heard."""
        return {name for name, groups in self._session.resources.items() if groups}

    def wait(self, seconds: float) -> None:
        """Let the session take the coordinator's updates for ``seconds``."""
        self._run(asyncio.sleep(seconds))

    def release_dead_holders(self) -> None:
        """Release the places, and cancel the reservations, of this host's rig processes that
        are gone (a SIGKILLed worker cannot release its own)."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        for place in list(self.places.values()):
            if place.acquired and _dead_here(place.acquired):
                request = pb.ReleasePlaceRequest(placename=place.name, fromuser=place.acquired)
                self._call("ReleasePlace", request)
        reservations = self._call("GetReservations", pb.GetReservationsRequest()).reservations
        for reservation in reservations:
            if _dead_here(reservation.owner):
                cancel = pb.CancelReservationRequest(token=reservation.token)
                self._call("CancelReservation", cancel)

    def check_candidates(self, tags: Mapping[str, str], config: LabgridConfig) -> None:
        """Fail at once when no place could ever match (labgrid would queue forever)."""
        if not self._candidates(tags):
            known = ", ".join(sorted(self.places)) or "none"
            raise PlaceError(
                f"labgrid {config.describe()}: no place on coordinator {self.coordinator} "
                f"matches (places: {known}; docs/lab.md)"
            )

    def _candidates(self, tags: Mapping[str, str]) -> list[Any]:
        return [
            place
            for name, place in sorted(self.places.items())
            if all({**place.tags, "name": name}.get(k) == v for k, v in tags.items())
        ]

    def reserve(
        self,
        tags: Mapping[str, str],
        timeout_s: float,
        config: LabgridConfig,
        *,
        prio: float = 0.0,
        stop: Callable[[], bool] = lambda: False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> tuple[str, str]:
        """A reservation allocated to this holder: its token and place (labgrid's queue)."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        request = pb.CreateReservationRequest(
            filters={"main": pb.Reservation.Filter(filter=dict(tags))}, prio=prio
        )
        token = self._call("CreateReservation", request).reservation.token
        deadline = monotonic() + timeout_s
        while True:
            poll = pb.PollReservationRequest(token=token)
            reservation = self._call("PollReservation", poll).reservation
            if reservation.state in (ALLOCATED, ACQUIRED):
                return token, reservation.allocations["main"]
            if reservation.state != WAITING:
                raise PlaceError(f"labgrid reservation {token} for {config.describe()} ended")
            if monotonic() >= deadline or stop():
                self._call("CancelReservation", pb.CancelReservationRequest(token=token))
                if stop():
                    raise PlaceError(f"stopped waiting for {config.describe()} (SIGTERM)")
                raise PlaceError(self.busy(tags, config, timeout_s))
            self.wait(POLL_S)

    def busy(self, tags: Mapping[str, str], config: LabgridConfig, timeout_s: float) -> str:
        """One line: no place free in time, and who holds (or has reserved) each candidate."""
        held = []
        for place in self._candidates(tags):
            if place.acquired:
                since = datetime.fromtimestamp(place.changed).strftime("%H:%M:%S")
                held.append(f"{place.name} held by {place.acquired} since {since}")
            elif place.reservation:
                held.append(f"{place.name} reserved (reservation {place.reservation})")
            else:
                held.append(f"{place.name} free")
        return (
            f"labgrid {config.describe()}: no place free after {timeout_s:g} s "
            f"(coordinator {self.coordinator}): " + "; ".join(held)
        )

    def acquire(self, name: str, timeout_s: float = ACQUIRE_TIMEOUT_S) -> None:
        """Acquire the place (reserved for this holder). The coordinator gives an exporter 10 s
        to start a resource, then forgets the command; an exporter slower than that (ser2net
        stopping and starting on a loaded host) is left holding it for a place that is not,
        until the coordinator's resource sync (each 15 s) releases it: so a refusal for that
        reason is tried again until ``timeout_s``."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._call("AcquirePlace", pb.AcquirePlaceRequest(placename=name))
                return
            except PlaceError as exc:
                if "Failed to acquire resources" not in str(exc) or time.monotonic() > deadline:
                    raise
            self.wait(1.0)

    def resources(self, name: str, timeout_s: float = PORTS_TIMEOUT_S) -> dict[str, PlaceResource]:
        """The acquired place's resources by name (a match's rename, else the resource's),
        once every network resource has its host and port (ser2net started)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self._resources(name)
            waiting = [r.name for r in found.values() if r.address is None]
            if not waiting:
                return found
            if time.monotonic() >= deadline:
                raise PlaceError(f"place {name}: {', '.join(waiting)} not served in {timeout_s} s")
            self.wait(0.1)

    def _resources(self, name: str) -> dict[str, PlaceResource]:
        place = self.places[name]
        found: dict[str, PlaceResource] = {}
        for path in place.acquired_resources:
            exporter, group, cls, resource_name = path
            match = place.getmatch(path)
            key = match.rename if match is not None and match.rename else resource_name
            try:
                entry = self._session.resources[exporter][group][resource_name]
            except KeyError:
                raise PlaceError(f"place {name}: exporter {exporter} is gone") from None
            if key in found:
                raise PlaceError(f"place {name}: two resources named {key!r} (rename one)")
            found[key] = PlaceResource(key, cls, exporter, dict(entry.params))
        return found

    def release(self, name: str, token: str | None) -> None:
        """Release the place (if this holder still has it) and cancel the reservation."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        place = self.places.get(name)
        if place is not None and place.acquired:
            request = pb.ReleasePlaceRequest(placename=name, fromuser=self.identity)
            self._call("ReleasePlace", request)
        if token:
            with contextlib.suppress(PlaceError):  # expired or cancelled already
                self._call("CancelReservation", pb.CancelReservationRequest(token=token))


def _dead_here(holder: str) -> bool:
    """Whether ``HOST/USER:WORKER:PID`` names a process of this host that is gone."""
    host, _, user = holder.partition("/")
    pid_text = user.rsplit(":", 1)[-1]
    if host != socket.gethostname() or user.count(":") != 2 or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False

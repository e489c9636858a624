"""The critical-command flow of SRV 7.1 / 7.2 / 7.3 (Enable, Disable, Arm Supply) on an ESME.

A critical request goes to the DSP's Transform service (CommandVariant 4), which returns a
pre-command; the User signs it with its Digital Signing key and sends it back (CommandVariant 5);
the Access Control Broker adds its MAC and the meter checks both before it switches
(reference/domain.md §7.1-7.2, reference/gbcs.md §1.3). SRV 7.4 reads confirm the supply state.

Runs unchanged on the embedded emulated bench and on a physical bench (``--bench FILE`` naming
an ESME called ``esme``, with the User's DS key in the bench's key folders).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from rig.config.bench import Bench
from rig.duis.access import Device as InventoryDevice
from rig.duis.request import (
    ArmSupply,
    Body,
    CommandVariant,
    DisableSupply,
    EnableSupply,
    RequestId,
    ServiceRequest,
    SignedPreCommand,
)
from rig.duis.srv_matrix import DeviceType
from rig.duis.transform import command_signing, to_gbcs
from rig.gbcs.codec import RemotePartyCodec, sign_precommand
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import decode
from rig.gbcs.usecases import SupplyState
from rig.keys.keystore import KeyStore
from rig.live.orchestrator import Rig
from rig.results.limits import TRT_ON_DEMAND
from rig.results.measure import Measurements
from rig.results.record import RequestRecord

ESME = "esme"
SRV = pytest.mark.srv
#: The meter refuses a command whose MAC or signature fails (reference/gbcs.md §1.6).
NO_AUTHORITY = "device refused the command: alert 0x8F30 Source Does not have Authority for Command"

#: Each critical SRV, its request body and the supply state the meter reports afterwards.
SWITCHES = [
    pytest.param(
        "7.2", DisableSupply(), SupplyState.DISCONNECTED, id="7.2-disable", marks=SRV("7.2")
    ),
    pytest.param("7.3", ArmSupply(), SupplyState.ARMED, id="7.3-arm", marks=SRV("7.3")),
    pytest.param("7.1", EnableSupply(), SupplyState.CONNECTED, id="7.1-enable", marks=SRV("7.1")),
]


@pytest.fixture(scope="module")
def keys(bench: Bench, rig_run_dir: Path) -> KeyStore:
    """The User's view of the keys: the bench's folders, after the keys the rig generated for
    emulated devices (``keys/`` in the run folder)."""
    return KeyStore([rig_run_dir / "keys", *bench.key_dirs])


def supply_state(rig: Rig) -> SupplyState:
    record = rig.read_supply_status(ESME, timeout=60)
    assert record.ok, record.reason
    assert record.response is not None
    return SupplyState(record.response["control_state"])


def pre_command(rig: Rig, body: Body, counter: int) -> bytes:
    """CommandVariant 4: the DSP transforms the request into the unsigned GBCS pre-command."""
    device = rig.bench.device(ESME)
    request = ServiceRequest(
        RequestId(rig.bench.user.eui, device.eui, counter), body, CommandVariant.CRITICAL_TRANSFORM
    )
    inventory = {device.eui: InventoryDevice(device.eui, DeviceType(device.inventory_type))}
    signing = command_signing(request, to_gbcs(request, inventory))
    return RemotePartyCodec(KeyStore([])).transform(
        signing.originator,
        signing.recipient,
        signing.counter,
        signing.message_code,
        signing.payload,
    )


def signed_pre_command(
    rig: Rig, srv: str, body: Body, sign: Callable[[bytes], bytes]
) -> RequestRecord:
    """The User's side of the critical flow: the rig allocates the User's next counter (on its
    loop, in order with every other request), the DSP's CV 4 pre-command for it is signed by
    ``sign`` and sent back as a CV 5 SignedPreCommand. Returns the completed record."""

    def build(_originator: Eui64, counter: int) -> SignedPreCommand:
        pre = pre_command(rig, body, counter)
        assert decode(pre).signing.signature is None  # the User has not signed it yet
        return SignedPreCommand(srv, sign(pre))

    make = rig.request_maker(ESME, build)
    done: concurrent.futures.Future[RequestRecord] = concurrent.futures.Future()

    def on_loop() -> None:
        cv5 = replace(make(), command_variant=CommandVariant.CRITICAL_SIGNED_WAN)
        rig.enqueue(cv5, done.set_result)

    rig.call(on_loop)
    return done.result(timeout=60)


@pytest.mark.requirement("domain.md §7.1 CV 4 → 5")
@pytest.mark.parametrize(("srv", "body", "state"), SWITCHES)
def test_signed_pre_command_switches_the_supply(
    rig: Rig,
    keys: KeyStore,
    measure: Measurements,
    srv: str,
    body: Body,
    state: SupplyState,
) -> None:
    """CV 4 pre-command → the User signs it → CV 5 with the ACB's MAC; 7.4 reads the new state."""
    user_key = keys.ds_private(rig.bench.user.eui)
    record = signed_pre_command(rig, srv, body, lambda pre: sign_precommand(pre, user_key))
    assert record.ok, record.reason
    assert record.response == {"type": "ChangeSupplyEsmeResponse", "result": 0}
    assert supply_state(rig) is state
    measure.record(
        f"SRV {srv} total latency", record.latencies()["total"] * 1e3, limit=TRT_ON_DEMAND
    )


@SRV("7.2")
@pytest.mark.requirement("GBCS §1.3 command signature")
def test_a_tampered_signature_is_refused_by_the_dsp(rig: Rig, keys: KeyStore) -> None:
    """The ACB checks the User's signature before it adds its MAC (CV 5): the request fails
    with the reason, nothing reaches the meter, and the supply is unchanged."""
    before = supply_state(rig)
    user_key = keys.ds_private(rig.bench.user.eui)

    def tampered(pre: bytes) -> bytes:
        signed = sign_precommand(pre, user_key)
        return signed[:-1] + bytes([signed[-1] ^ 0x01])

    record = signed_pre_command(rig, "7.2", DisableSupply(), tampered)
    assert not record.ok
    assert "signature does not verify" in record.reason
    assert "on_wire" not in record.stamps
    assert supply_state(rig) is before


@SRV("7.2")
@pytest.mark.requirement("GBCS §1.3 command signature", "GBCS §1.6 alert 0x8F30")
def test_a_tampered_signature_is_refused_by_the_meter(rig: Rig, keys: KeyStore) -> None:
    """A signature altered after the User signed, under a good ACB MAC: the meter refuses the
    command with alert 0x8F30 and the supply does not change."""
    before = supply_state(rig)
    codec = RemotePartyCodec(keys)

    def tamper_signature(frame: bytes) -> bytes:
        signing = decode(frame).signing
        assert signing.signature is not None
        bad = signing.signature[:-1] + bytes([signing.signature[-1] ^ 0x01])
        return codec.seal_command(signing.with_signature(bad))

    record = rig.request(ESME, DisableSupply(), mangle=tamper_signature, timeout=60)
    assert not record.ok
    assert (record.reason or "").startswith(NO_AUTHORITY)
    assert [a["code"] for a in record.alerts] == [0x8F30]
    assert supply_state(rig) is before

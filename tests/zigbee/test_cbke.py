"""CBKE suite 2: ECQV certificates, ECMQV/KDF/MAC, and both sides of the Key Establishment
cluster run against each other in memory, with every refusal.

No published SE 1.2a Annex C suite-2 vector (certificates, keys and the resulting link key) was
found, so the checks are internal and independent ones: a reconstructed public key equals the
issued private key times G; both ends derive the same key; the shared secret equals one
computed straight from the four keys with affine double-and-add (test_cbke_curve's
``affine_multiply``), apart from the production ladder. The curve itself is pinned by published
vectors in test_cbke_curve.py, HMAC-MMO by ZigBee Annex C.6.1 in test_mmo.py.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from cbke_reference import affine_multiply
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.clock import VirtualClock
from rig.zigbee.cbke import agreement, curve
from rig.zigbee.cbke.agreement import avf
from rig.zigbee.cbke.curve import G, H, N
from rig.zigbee.cbke.ecqv import (
    DIGITAL_SIGNATURE,
    Certificate,
    CertificateAuthority,
    CertificateError,
)
from rig.zigbee.cbke.machine import (
    Command,
    Frame,
    Identity,
    Initiator,
    Responder,
    State,
    Status,
    frame_from,
    terminate_payload,
)
from rig.zigbee.mmo import mmo_hash

HUB_EUI = bytes.fromhex("0011223344556677")
METER_EUI = bytes.fromhex("8899AABBCCDDEEFF")


def rng(seed: int):
    return random.Random(seed).randbytes


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.generate(bytes.fromhex("5445535443413031"), rng(1))


@pytest.fixture(scope="module")
def hub(ca: CertificateAuthority) -> Identity:
    private, cert = ca.issue(HUB_EUI, bytes(7) + b"\x01", 1_700_000_000, rng=rng(2))
    return Identity(HUB_EUI, private, cert, ca.issuer, ca.public)


@pytest.fixture(scope="module")
def meter(ca: CertificateAuthority) -> Identity:
    private, cert = ca.issue(METER_EUI, bytes(7) + b"\x02", rng=rng(3))
    return Identity(METER_EUI, private, cert, ca.issuer, ca.public)


@pytest.fixture(scope="module")
def foreign_meter() -> Identity:
    """A meter whose certificate comes from another CA that uses the same issuer id."""
    other = CertificateAuthority.generate(bytes.fromhex("5445535443413031"), rng(4))
    private, cert = other.issue(METER_EUI, bytes(8), rng=rng(5))
    return Identity(METER_EUI, private, cert, other.issuer, other.public)


def run(initiator: Initiator, responder: Responder) -> None:
    """Deliver frames back and forth until both stop talking."""
    to_responder = initiator.start()
    while to_responder:
        to_initiator = [out for frame in to_responder for out in responder.receive(frame)]
        to_responder = [out for frame in to_initiator for out in initiator.receive(frame)]


def pair(meter: Identity, hub: Identity, seed: int = 10) -> tuple[Initiator, Responder]:
    clock = VirtualClock()
    return (
        Initiator(meter, hub.eui, clock, rng(seed)),
        Responder(hub, meter.eui, clock, rng(seed + 1)),
    )


# --- ECQV -------------------------------------------------------------------------------------


def test_certificate_layout_round_trip_and_hash(hub: Identity) -> None:
    """SE 1.2a Annex C suite-2 layout (74 bytes); e is the MMO hash of the whole encoding."""
    raw = hub.certificate.encode()
    assert len(raw) == 74 and raw[0] == 0x00 and raw[9] == 0x0D and raw[10] == 0x08
    assert raw[28:36] == HUB_EUI and raw[36] == 0x88
    assert int.from_bytes(raw[19:24], "big") == 1_700_000_000
    assert Certificate.decode(raw) == hub.certificate
    assert hub.certificate.hash_integer() == int.from_bytes(mmo_hash(raw), "big")


def test_reconstructed_public_key_matches_the_issued_private_key(
    ca: CertificateAuthority, meter: Identity
) -> None:
    """The independent second computation of ECQV: Q = e·P + Q_CA (SEC 4 §2.6) against d·G,
    here with affine double-and-add rather than the ladder."""
    cert = meter.certificate
    p = curve.decode(cert.reconstruction)
    q = curve.add(affine_multiply(cert.hash_integer(), p), ca.public)
    assert q == affine_multiply(meter.private, G) == cert.public_key(ca.public)


def test_a_tampered_certificate_reconstructs_another_key(ca: CertificateAuthority) -> None:
    private, cert = ca.issue(METER_EUI, bytes(8), rng=rng(6))
    forged = replace(cert, subject=HUB_EUI)
    assert forged.public_key(ca.public) != curve.multiply(private, G)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes(73), "74 bytes, not 73"),
        (b"\x01" + bytes(73), "type 0x01 is not 0x00"),
        (bytes(9) + b"\x0e\x08" + bytes(63), "curve 0x0E is not 0x0D"),
        (bytes(9) + b"\x0d\x09" + bytes(63), "hash 0x09 is not 0x08"),
    ],
)
def test_bad_certificate_bytes_are_one_clear_error(data: bytes, reason: str) -> None:
    with pytest.raises(CertificateError, match=reason):
        Certificate.decode(data)


@given(st.binary(max_size=80), st.booleans())
def test_any_bytes_are_a_certificate_or_one_clear_error(data: bytes, fix_header: bool) -> None:
    if fix_header and len(data) == 74:
        data = b"\x00" + data[1:9] + b"\x0d\x08" + data[11:]
    try:
        cert = Certificate.decode(data)
    except CertificateError as error:
        assert str(error).startswith(("a suite-2 certificate is", "certificate "))
    else:
        assert cert.encode() == data


def test_validity_period(ca: CertificateAuthority, hub: Identity) -> None:
    assert hub.certificate.valid_at(1_700_000_000) and not hub.certificate.valid_at(1_699_999_999)
    _, short = ca.issue(METER_EUI, bytes(8), valid_from=100, valid_for=50, rng=rng(7))
    assert short.valid_at(150) and not short.valid_at(151)


def test_issue_refuses_wrong_lengths(ca: CertificateAuthority) -> None:
    with pytest.raises(CertificateError, match="8 bytes each"):
        ca.issue(b"\x01", bytes(8))


# --- ECMQV, KDF, MAC ----------------------------------------------------------------------------


def test_both_ends_agree_and_match_a_direct_computation(hub: Identity, meter: Identity) -> None:
    """ECMQV (SEC 1 §3.4) from each side, and Z computed once more with affine arithmetic."""
    e_u, e_v = 0x1234567 * 0x89ABCDEF, 0xFEDCBA987 * 0x1111
    q_eu, q_ev = curve.multiply(e_u, G), curve.multiply(e_v, G)
    q_su, q_sv = curve.multiply(meter.private, G), curve.multiply(hub.private, G)
    z_u = agreement.ecmqv(meter.private, e_u, q_eu, q_sv, q_ev)
    z_v = agreement.ecmqv(hub.private, e_v, q_ev, q_su, q_eu)
    s_u = (e_u + avf(q_eu) * meter.private) % N
    direct = affine_multiply(H * s_u, curve.add(q_ev, affine_multiply(avf(q_ev), q_sv)))
    assert z_u == z_v == curve.x_bytes(direct)
    mac_key, key_data = agreement.kdf(z_u)
    assert mac_key == mmo_hash(z_u + bytes.fromhex("00000001"))
    assert key_data == mmo_hash(z_u + bytes.fromhex("00000002"))


def test_avf_keeps_the_low_141_bits_and_sets_bit_141() -> None:
    point = (0xABC << 200 | 0x5, 0)
    assert avf(point) == (1 << 141) | 0x5


# --- the state machines -----------------------------------------------------------------------


def test_end_to_end_both_sides_derive_the_same_link_key(hub: Identity, meter: Identity) -> None:
    initiator, responder = pair(meter, hub)
    run(initiator, responder)
    assert initiator.state is responder.state is State.DONE
    assert initiator.key is not None and initiator.key == responder.key and len(initiator.key) == 16
    assert initiator.failure is responder.failure is None


def test_the_hub_can_initiate_too(hub: Identity, meter: Identity) -> None:
    clock = VirtualClock()
    initiator, responder = (
        Initiator(hub, METER_EUI, clock, rng(20)),
        Responder(meter, HUB_EUI, clock, rng(21)),
    )
    run(initiator, responder)
    assert initiator.key == responder.key is not None


def test_a_foreign_ca_certificate_is_refused(hub: Identity, foreign_meter: Identity) -> None:
    """Same issuer id, another CA key: the reconstructed key is wrong, so the MAC fails."""
    initiator, responder = pair(foreign_meter, hub)
    run(initiator, responder)
    assert responder.state is State.FAILED and responder.key is None
    assert "BAD_KEY_CONFIRM" in (responder.failure or "")
    assert initiator.state is State.FAILED and "peer terminated: BAD_KEY_CONFIRM" in (
        initiator.failure or ""
    )


def test_an_unknown_issuer_is_refused_at_once(hub: Identity, meter: Identity) -> None:
    stranger = replace(meter, certificate=replace(meter.certificate, issuer=bytes(8)))
    initiator, responder = pair(stranger, hub)
    run(initiator, responder)
    assert "UNKNOWN_ISSUER" in (responder.failure or "")
    assert "peer terminated: UNKNOWN_ISSUER, wait 10 s" in (initiator.failure or "")


def test_a_certificate_for_another_device_is_refused(hub: Identity, meter: Identity) -> None:
    initiator = Initiator(meter, HUB_EUI, VirtualClock(), rng(30))
    responder = Responder(hub, bytes.fromhex("0102030405060708"), VirtualClock(), rng(31))
    run(initiator, responder)
    assert "INVALID_CERTIFICATE" in (responder.failure or "") and responder.key is None


def test_a_certificate_without_key_agreement_is_refused(
    ca: CertificateAuthority, hub: Identity
) -> None:
    private, cert = ca.issue(METER_EUI, bytes(8), key_usage=DIGITAL_SIGNATURE, rng=rng(32))
    signer = Identity(METER_EUI, private, cert, ca.issuer, ca.public)
    initiator, responder = pair(signer, hub)
    run(initiator, responder)
    assert "not for key agreement" in (responder.failure or "")


@pytest.mark.parametrize("who", ["initiator", "responder"])
def test_a_tampered_mac_is_refused(hub: Identity, meter: Identity, who: str) -> None:
    initiator, responder = pair(meter, hub)
    to_v = initiator.start()
    to_u = responder.receive(to_v[0])
    to_v = initiator.receive(to_u[0])
    to_u = responder.receive(to_v[0])
    confirm_u = initiator.receive(to_u[0])[0]
    if who == "responder":  # MACU altered on its way to the responder
        bad = Frame(Command.CONFIRM_KEY, bytes([confirm_u.payload[0] ^ 1]) + confirm_u.payload[1:])
        out = responder.receive(bad)
        assert out == [Frame(Command.TERMINATE, terminate_payload(Status.BAD_KEY_CONFIRM))]
        assert responder.key is None and "MACU mismatch" in (responder.failure or "")
    else:  # MACV altered on its way back
        confirm_v = responder.receive(confirm_u)[0]
        bad = Frame(
            Command.CONFIRM_KEY, confirm_v.payload[:-1] + bytes([confirm_v.payload[-1] ^ 1])
        )
        out = initiator.receive(bad)
        assert out[0].command is Command.TERMINATE and out[0].payload[0] == Status.BAD_KEY_CONFIRM
        assert initiator.key is None and "MACV mismatch" in (initiator.failure or "")


def test_a_tampered_ephemeral_key_is_a_bad_message(hub: Identity, meter: Identity) -> None:
    initiator, responder = pair(meter, hub)
    responder.receive(initiator.start()[0])
    out = responder.receive(Frame(Command.EPHEMERAL_DATA, b"\x02" + b"\xff" * 36))
    assert out[0].payload[0] == Status.BAD_MESSAGE and "ephemeral key" in (responder.failure or "")


def test_unexpected_or_truncated_messages_are_bad_messages(hub: Identity, meter: Identity) -> None:
    initiator, responder = pair(meter, hub)
    out = responder.receive(Frame(Command.CONFIRM_KEY, bytes(16)))
    assert out[0].payload[0] == Status.BAD_MESSAGE and "not expected while idle" in (
        responder.failure or ""
    )
    _, responder = pair(meter, hub)
    out = responder.receive(Frame(Command.INITIATE, initiator.start()[0].payload[:-1]))
    assert out[0].payload[0] == Status.BAD_MESSAGE and "77 bytes, not 78" in (
        responder.failure or ""
    )


def test_another_suite_is_refused(hub: Identity, meter: Identity) -> None:
    initiator, responder = pair(meter, hub)
    request = initiator.start()[0]
    out = responder.receive(Frame(Command.INITIATE, b"\x01\x00" + request.payload[2:]))
    assert out[0].payload[0] == Status.UNSUPPORTED_SUITE


def test_a_busy_responder_answers_no_resources(hub: Identity, meter: Identity) -> None:
    initiator, responder = pair(meter, hub)
    request = initiator.start()[0]
    responder.receive(request)
    out = responder.receive(request)
    assert out == [Frame(Command.TERMINATE, terminate_payload(Status.NO_RESOURCES))]
    assert responder.state is State.AWAIT_EPHEMERAL  # the exchange under way goes on


def test_timeouts_come_from_the_clock(hub: Identity, meter: Identity) -> None:
    clock = VirtualClock()
    initiator = Initiator(meter, HUB_EUI, clock, rng(40))
    responder = Responder(hub, METER_EUI, clock, rng(41))
    initiator.receive(responder.receive(initiator.start()[0])[0])
    assert responder.state is State.AWAIT_EPHEMERAL and responder.deadline == 15.0
    clock.run(until=14.9)
    assert not responder.check_timeout()
    clock.run(until=15.0)
    assert responder.check_timeout() and responder.failure == "timed out awaiting Ephemeral Data"
    assert responder.receive(Frame(Command.EPHEMERAL_DATA, bytes(37))) == []
    assert initiator.check_timeout() and initiator.failure == "timed out awaiting Ephemeral Data"
    assert not initiator.check_timeout()  # once


def test_unknown_command_ids_and_short_terminates_are_clear() -> None:
    with pytest.raises(ValueError, match="0x07 is not a Key Establishment command"):
        frame_from(7, b"")
    assert frame_from(3, b"\x01\x00\x02\x00").command is Command.TERMINATE


@settings(max_examples=40, deadline=None)
@given(command=st.integers(0, 3), payload=st.binary(max_size=90))
def test_any_frame_to_a_fresh_responder_answers_or_refuses_cleanly(
    hub: Identity, meter: Identity, command: int, payload: bytes
) -> None:
    """Any bytes: a reply, a Terminate with a status, or silence (after a Terminate) - never an
    exception."""
    _, responder = pair(meter, hub)
    out = responder.receive(frame_from(command, payload))
    assert all(frame.command in Command for frame in out)
    assert responder.state in (State.AWAIT_EPHEMERAL, State.FAILED)

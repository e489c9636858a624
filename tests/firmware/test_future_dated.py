"""Future-dated commands execute at their date-time (firmware_stubs/future_dated.py, issue 17):
answered at once; on the device's virtual clock nothing changes before the execution time, and
after it the held values are applied and the signed 8F66 alert (0x00CC DLMS, 0x00CD GBZ) goes
to the command's originator, shaped as the RTDS alerts of the same command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from firmware_parties import ESME, GSME, SUPPLIER, Supplier
from shared_dir import SHARED_DIR, require_shared
from test_answers import WALL, rebuilt

from firmware_stubs.esme import Esme
from firmware_stubs.exemplars import Exemplar, table
from firmware_stubs.future_dated import EXECUTED
from firmware_stubs.gsme import Gsme
from firmware_stubs.object_model import cosem_key
from rig.gbcs import usecases
from rig.gbcs.cosem.payload import DlmsRequest
from rig.gbcs.frame import Cra, decode
from rig.gbcs.gbz import Gbz, GbzComponent, ZclFrame, gbz_time
from rig.gbcs.usecases import RawPayload
from rig.keys.keystore import KeyStore

#: Every RTDS 4.5.0 future-dated command executes at 2030-01-15 09:00 UTC.
DUE = datetime(2030, 1, 15, 9, tzinfo=UTC).timestamp() - WALL


def _exemplar(vector: str) -> Exemplar:
    return next(e for entries in table().values() for e in entries if e.vector == vector)


def _rtds_alerts(pattern: str) -> list[object]:
    folder = require_shared(SHARED_DIR / "gbcs-rtds" / "vectors")
    out = []
    for path in sorted(Path(folder).glob(f"*/{pattern}")):
        s = decode(bytes.fromhex(path.read_text().strip())).signing
        out.append(usecases.decode_payload(s.message_code, s.payload, s.cra))
    return out


def _alerts(supplier: Supplier, outputs: list[tuple[float, bytes]], code: int) -> list[object]:
    bodies = []
    for _, frame in outputs:
        message = supplier.message(frame)  # verifies the signature
        s = message.signing
        assert (s.cra, s.message_code, s.recipient) == (Cra.ALERT, code, SUPPLIER)
        assert s.signature is not None
        body = usecases.decode_payload(s.message_code, s.payload, s.cra)
        assert body.encode(s.counter) == s.payload
        bodies.append(body)
    return bodies


def test_a_future_dated_dlms_command_executes_at_its_date_time(
    pki: KeyStore, supplier: Supplier
) -> None:
    """ECS02 (payment mode to credit, future-dated): the account mode changes only at the
    activation time, and the 0x00CC alert names the activation attribute, as the RTDS's."""
    esme = Esme.from_keys(ESME, pki, wall_clock_offset=WALL)
    esme.tick(0.0)
    frame = rebuilt(supplier, _exemplar("ECS02_1.6_FUTURE_DATED_TWIN_SUCCESS_RESPONSE"), ESME)
    command = decode(frame).signing
    mode = cosem_key("0-1:19.0.0.255", 111, 2)
    before = esme.state.cosem.get(mode)
    [(_, response)] = esme.handle(frame, 1.0)
    assert supplier.open(response)[0].cra is Cra.RESPONSE
    wanted = DlmsRequest.decode(0x001A, command.payload).accesses[0].to_data()
    assert wanted != before
    assert esme.state.cosem.get(cosem_key("0-1:19.0.0.255", 111, 13)) is not None  # schedule
    assert esme.tick(DUE - 1) == [] and esme.state.cosem.get(mode) == before
    [alert] = _alerts(supplier, esme.tick(DUE + 1), 0x00CC)
    assert esme.state.cosem.get(mode) == wanted
    assert esme.tick(DUE + 2) == []  # once
    [rtds] = _rtds_alerts("ECS02_1.6_8F66_*ALERT*.HEX")
    assert alert.alert_code == EXECUTED == rtds.alert_code  # type: ignore[attr-defined]
    assert alert.date_time == rtds.date_time  # type: ignore[attr-defined]
    named, expected = alert.extra[0].value, rtds.extra[0].value  # type: ignore[attr-defined]
    assert named[:2] + named[10:] == expected[:2] + expected[10:]
    assert int.from_bytes(named[2:10], "big") == command.counter


def test_a_future_dated_gbz_command_executes_at_its_date_time(
    pki: KeyStore, supplier: Supplier
) -> None:
    """GCS05 (future-dated prepayment settings): the six 0x00CD alerts of the RTDS at the
    execution time, none before."""
    gsme = Gsme.from_keys(GSME, pki, wall_clock_offset=WALL)
    gsme.tick(0.0)
    frame = rebuilt(supplier, _exemplar("GCS05_2.1_FUTURE_DATED_SUCCESS_RESPONSE"), GSME)
    assert len(gsme.handle(frame, 1.0)) == 1
    assert gsme.tick(DUE - 1) == []
    alerts = _alerts(supplier, gsme.tick(DUE + 1), 0x00CD)
    rtds = _rtds_alerts("GCS05_2.1_8F66_*ALERT*.HEX")

    def instructions(bodies: list[object]) -> set[tuple[object, ...]]:
        return {
            (b.alert_code, b.timestamp, e.message_code, e.cluster, e.frame_control, e.command)  # type: ignore[attr-defined]
            for b in bodies
            for e in [b.executed]  # type: ignore[attr-defined]
        }

    assert len(alerts) == len(rtds) == 6
    assert instructions(alerts) == instructions(rtds)


def test_a_dated_write_attributes_is_held_and_a_cancellation_drops_it(
    pki: KeyStore, supplier: Supplier
) -> None:
    """A Write Attributes with a from-date-time header is stored at its date-time; a GCS02
    cancellation drops GCS02's waiting instruction and leaves GCS05's six."""
    gsme = Gsme.from_keys(GSME, pki, wall_clock_offset=WALL)
    at = gbz_time(datetime(2030, 1, 15, 9, tzinfo=UTC))
    write = ZclFrame(0x00, 0, 0x02, bytes.fromhex("0103") + b"\x22" + (77).to_bytes(3, "little"))
    body = RawPayload(0, Gbz((GbzComponent(0x0702, write, from_date_time=at),)).encode())
    gsme.handle(supplier.command(GSME, body, 0x7B), 1.0)
    assert gsme.state.zcl.provenance((0x0702, 0x0301)) != "set by GCS21a"
    [_] = _alerts(supplier, gsme.tick(DUE + 1), 0x00CD)
    assert gsme.state.zcl.record((0x0702, 0x0301)).value == 77

    gsme = Gsme.from_keys(GSME, pki, wall_clock_offset=WALL)
    for vector in ("GCS05_2.1_FUTURE_DATED", "GCS02_1.6_FUTURE_DATED", "GCS02_1.6_CANCELLATION"):
        frame = rebuilt(supplier, _exemplar(f"{vector}_SUCCESS_RESPONSE"), GSME)
        gsme.handle(frame, 1.0)
    left = _alerts(supplier, gsme.tick(DUE + 1), 0x00CD)
    assert [a.executed.message_code for a in left] == [0x006F] * 6  # type: ignore[attr-defined]


def test_a_future_dated_firmware_activation_sends_the_fdfa_alert(
    pki: KeyStore, supplier: Supplier
) -> None:
    """CS06 with an execution date-time: the NULL acknowledgement now, the 0x00CA alert (the
    RTDS's elements: code, that date-time, the command's counter, the outcome) at the time."""
    esme = Esme.from_keys(ESME, pki, wall_clock_offset=WALL)
    frame = rebuilt(supplier, _exemplar("CS06_11.3_FUTURE_DATED_SUCCESS_RESPONSE"), ESME)
    assert len(esme.handle(frame, 1.0)) == 1
    assert esme.tick(DUE - 1) == []
    [alert] = _alerts(supplier, esme.tick(DUE + 1), 0x00CA)
    [rtds, _] = _rtds_alerts("CS06_11.3_8F6*_FUTURE_DATED_*ALERT*.HEX")
    code, when, counter, outcome = alert.root.value  # type: ignore[attr-defined]
    assert (code, when, counter) == rtds.root.value[:3]  # type: ignore[attr-defined]
    assert code.value == EXECUTED
    assert outcome.value[0].value == 0 and outcome.tag == rtds.root.value[3].tag  # type: ignore[attr-defined]

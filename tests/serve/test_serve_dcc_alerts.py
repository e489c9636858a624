"""DCC alerts: a DSP future-dated command that cannot be delivered gets its E20 response and a
CommandFailure DCC alert, signed by the DSP, schema-valid, POSTed to the User's endpoint through
the DSP's northbound path, with the N-code the bench's ``[duis.dcc_alert_codes]`` gives."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from serve_adapter import ESME, SUPPLIER, Served, rid, serving, write_bench

from rig.config.bench import BenchError, load_bench
from rig.duis.access import DCC
from rig.duis.codes import ResponseCode
from rig.duis.dsig import CertificateStore, Signer
from rig.duis.messages import DccAlert, OtherDccAlert, ResponseMessage
from rig.duis.request import (
    CommandVariant,
    ReadInstantaneousImportRegisters,
    ReadSupplyStatus,
    ServiceRequest,
)

CODES = '[duis.dcc_alert_codes]\ncommand_failure = "N13"\n'


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, keys: Path, supplier_signer: Signer
) -> Iterator[Served]:
    """``rig serve`` whose bench names the CommandFailure alert's N-code."""
    folder = tmp_path_factory.mktemp("dcc-alerts")
    with serving(folder, keys, supplier_signer, CODES) as served:
        yield served


@contextmanager
def _unplugged(served: Served) -> Iterator[None]:
    """The ESME's link is lost for the duration: commands to it cannot be sent (E20)."""
    rig = served.rig
    esme = rig.devices["esme"]
    rig.call(rig.link_lost, esme, "link lost (unplugged for the test)")
    try:
        yield
    finally:
        rig.call(rig.link_restored, esme)


def test_an_undelivered_future_dated_command_raises_a_command_failure_alert(
    served: Served, certificates: CertificateStore
) -> None:
    with _unplugged(served):
        # Held by the DSP until then (domain.md §7.3, pattern "DSP"), still unplugged then.
        later = datetime.fromtimestamp(time.time() + 2, UTC)
        read = ServiceRequest(
            rid(31 << 32), ReadInstantaneousImportRegisters(later), CommandVariant.NON_CRITICAL_WAN
        )
        assert served.adapter.post("serviceS", served.adapter.signed(read))[0] == 200
        response = served.receiver.next(certificates)
        assert isinstance(response.body, ResponseMessage)
        assert response.code == ResponseCode.UNABLE_TO_COMMUNICATE
        alert = served.receiver.next(certificates)  # signature verified, schema validated
    assert isinstance(alert.body, DccAlert) and alert.body.code == "N13"
    assert alert.response_id is not None
    assert (alert.response_id.originator, alert.response_id.target) == (DCC, SUPPLIER)
    assert isinstance(alert.body.event, OtherDccAlert)
    event = etree.fromstring(alert.body.event.xml)
    assert etree.QName(event).localname == "CommandFailure"
    texts = [(etree.QName(e).localname, e.text) for e in event]
    assert texts == [("CommandRequestID", str(read.request_id)), ("DeviceID", str(ESME))]


def test_an_on_demand_command_that_fails_gets_its_response_only(
    served: Served, certificates: CertificateStore
) -> None:
    with _unplugged(served):
        read = ServiceRequest(
            rid(32 << 32), ReadInstantaneousImportRegisters(), CommandVariant.NON_CRITICAL_WAN
        )
        assert served.adapter.post("serviceS", served.adapter.signed(read))[0] == 200
        response = served.receiver.next(certificates)
        assert response.code == ResponseCode.UNABLE_TO_COMMUNICATE
    # One message at a time per User, in order: a DCC alert would come before this answer.
    after = ServiceRequest(rid((32 << 32) + 1), ReadSupplyStatus(), CommandVariant.NON_CRITICAL_WAN)
    assert served.adapter.post("serviceS", served.adapter.signed(after))[0] == 200
    assert served.receiver.next(certificates).request_id == after.request_id


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('command_failure = "N32"', "duis.dcc_alert_codes.command_failure"),
        ('command_failure = "E12"', "duis.dcc_alert_codes.command_failure"),
        ('power_cut = "N1"', "duis.dcc_alert_codes.power_cut"),
    ],
)
def test_a_bad_dcc_alert_code_is_one_line(
    tmp_path: Path, keys: Path, table: str, message: str
) -> None:
    bench = write_bench(tmp_path, keys, "http://127.0.0.1:9/")
    bench.write_text(bench.read_text() + f"[duis.dcc_alert_codes]\n{table}\n")
    with pytest.raises(BenchError, match=re.escape(message)) as raised:
        load_bench(bench)
    assert "\n" not in str(raised.value)

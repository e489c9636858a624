"""The events of the DCC alerts the rig's DSP raises (DUIS ``DCCAlertMessage``, domain.md §7.1),
built as the DUIS 5.4 schema's ``DCCAlert`` choice elements (shared/duis/schema). Their N-codes
are the bench's ``[duis.dcc_alert_codes]`` (rig/config/duis.py): the reference has no DCC Alert
code table (domain.md §7.4, NOT FOUND)."""

from __future__ import annotations

from lxml import etree

from rig.duis.messages import OtherDccAlert
from rig.duis.request import RequestId
from rig.duis.xmltext import SR, add, q
from rig.gbcs.eui import Eui64


def command_failure(request_id: RequestId, device: Eui64) -> OtherDccAlert:
    """``CommandFailure``: the command of ``request_id`` to ``device`` could not be delivered or
    got no answer (schema: CommandRequestID, optional DSPScheduleID, DeviceID)."""
    element = etree.Element(q("CommandFailure"), nsmap={"sr": SR})
    add(element, "CommandRequestID", str(request_id))
    add(element, "DeviceID", str(device))
    return OtherDccAlert(etree.tostring(element))

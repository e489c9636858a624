"""ZCL / ZigBee SE 1.2a clusters, attributes and command layouts, each described once with
:mod:`rig.gbcs.zcl` (reference/gbcs.md §1.6-1.7; ZCL rev 6 §2.5 general commands; ZSE 1.2a
(SE 1.4 numbering) cluster chapters), split by cluster family:

- :mod:`.common`: cluster ids and names, attribute names, shared field groups, name lookups;
- :mod:`.general`: the profile-wide commands (:data:`GENERAL` by command id);
- :mod:`.price_calendar`, :mod:`.metering_prepayment`, :mod:`.management` (Messaging, Device
  Management, Events): the cluster-specific commands.

:data:`COMMANDS` maps ``(cluster, server_to_client, command id)`` to the structure of its
payload, merged from the family modules.
"""

from __future__ import annotations

from typing import Any

from rig.gbcs.zcl_clusters import management, metering_prepayment, price_calendar
from rig.gbcs.zcl_clusters.common import (
    ATTRIBUTE_NAMES,
    CLUSTER_NAMES,
    attribute_id,
    attribute_name,
    cluster_id,
    cluster_name,
)
from rig.gbcs.zcl_clusters.general import (
    GENERAL,
    GENERAL_NAMES,
    DefaultResponse,
    ReadAttributes,
    ReadAttributesResponse,
)

#: Client-to-server (False) and server-to-client (True) cluster-specific command layouts.
COMMANDS: dict[tuple[int, bool, int], Any] = {
    **price_calendar.COMMANDS,
    **metering_prepayment.COMMANDS,
    **management.COMMANDS,
}

__all__ = [
    "ATTRIBUTE_NAMES",
    "CLUSTER_NAMES",
    "COMMANDS",
    "GENERAL",
    "GENERAL_NAMES",
    "DefaultResponse",
    "ReadAttributes",
    "ReadAttributesResponse",
    "attribute_id",
    "attribute_name",
    "cluster_id",
    "cluster_name",
]

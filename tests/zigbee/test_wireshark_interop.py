"""Frames secured by rig/zigbee/security.py, in a capture as devices/han/pcap.py writes it
(link type 195), decrypted by tshark given the keys as rig/zigbee/wireshark.py writes them, and
unreadable above NWK without them. Skipped only where tshark is not installed (CI installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from scapy.layers.dot15d4 import Dot15d4Data, Dot15d4FCS
from scapy.layers.zigbee import ZigbeeAppDataPayload, ZigbeeClusterLibrary, ZigbeeNWK
from scapy.packet import Raw

from devices.han.pcap import PcapCapture
from rig.zigbee.security import KeyId, secure_aps, secure_nwk
from rig.zigbee.wireshark import PC_KEYS_FILE, pc_keys_uat, tshark_options, write_pc_keys

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")

NETWORK_KEY = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")
LINK_KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")  # issue 15's install code
HUB, METER = 0x00124B0001020304, 0x000D6FFFFE21AE85
PAN = 0x1A62
#: A GBCS message (ECS45, as in tests/gbcs/test_pcap_tshark.py) for the tunnel to carry.
GBCS = bytes.fromhex(
    "DD000000000000471100000000DF090100000000000003E80890B3D51F300100000800DB1234567890A00002"
    "005213D9200003E80001010046000060030AFF0301000052E8965230E91EE41782CE42"
)
FIELDS = (
    "zbee_zcl_se.tun.tunnel_id",
    "zbee_aps.cmd.key",
    "gbcs_message.grouping_header.message_code",
    "_ws.malformed",
)


def _psdu(nwk: bytes, seq: int, source: int) -> bytes:
    mac = Dot15d4FCS(
        fcf_frametype=1, fcf_panidcompress=1, fcf_destaddrmode=2, fcf_srcaddrmode=2, seqnum=seq
    ) / Dot15d4Data(dest_panid=PAN, dest_addr=0x0000, src_addr=source)
    return bytes(mac / Raw(nwk))


def _capture(path: Path) -> None:
    transfer = (
        ZigbeeNWK(frametype=0, destination=0x0000, source=0x4F21, radius=30, seqnum=7)
        / ZigbeeAppDataPayload(
            frame_control=0, cluster=0x0704, profile=0x0109, dst_endpoint=1, src_endpoint=1
        )
        / ZigbeeClusterLibrary(zcl_frametype=1, command_identifier=0x02, transaction_sequence=9)
        / Raw((7).to_bytes(2, "little") + GBCS)
    )
    # Transport Key of the network key (standard network key, sequence 0, to METER from HUB)
    transport = bytes([0x01, 0x11, 0x05, 0x01]) + NETWORK_KEY + b"\x00"
    transport += METER.to_bytes(8, "little") + HUB.to_bytes(8, "little")
    aps = secure_aps(transport, LINK_KEY, 1, HUB, KeyId.KEY_TRANSPORT)
    join = bytes(ZigbeeNWK(frametype=0, destination=0x4F21, source=0x0000, radius=1, seqnum=3))
    with PcapCapture(path) as capture:
        capture(_psdu(join + aps, 1, 0x0000), time.monotonic())
        capture(
            _psdu(secure_nwk(bytes(transfer), NETWORK_KEY, 100, METER), 2, 0x4F21), time.monotonic()
        )


def _tshark(path: Path, *options: str, env: dict[str, str] | None = None) -> list[list[str]]:
    fields = [part for field in FIELDS for part in ("-e", field)]
    result = subprocess.run(
        ["tshark", "-n", "-r", str(path), *options, "-T", "fields", *fields],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_tshark_decrypts_with_the_keys_file_and_not_without(tmp_path: Path) -> None:
    capture = tmp_path / "han.pcap"
    _capture(capture)
    keys = {"network key": NETWORK_KEY, "link key 00-0D-6F-FF-FE-21-AE-85": LINK_KEY}
    folder = tmp_path / "wireshark"
    assert write_pc_keys(folder, keys) == folder / PC_KEYS_FILE
    for rows in (
        _tshark(capture, env={"WIRESHARK_CONFIG_DIR": str(folder)}),
        _tshark(capture, *tshark_options(keys)),
    ):
        (_, key, _, malformed), (tunnel, _, message_code, malformed2) = rows
        assert key.replace(":", "").upper() == NETWORK_KEY.hex().upper()  # inside APS security
        assert int(tunnel, 16) == 7  # Tunneling TransferData, inside NWK security
        assert int(message_code, 16) == 0x0052  # and the GBCS inside the tunnel
        assert malformed == malformed2 == ""
    empty = tmp_path / "no-keys"
    empty.mkdir()
    rows = _tshark(capture, env={"WIRESHARK_CONFIG_DIR": str(empty)})
    assert [row[:3] for row in rows] == [["", "", ""], ["", "", ""]]


def test_the_keys_file_is_one_record_a_line() -> None:
    text = pc_keys_uat({"network key": NETWORK_KEY})
    assert text.splitlines()[1] == '"0123456789ABCDEF0123456789ABCDEF","Normal","network key"'
    with pytest.raises(ValueError, match="16 bytes, not 3"):
        pc_keys_uat({"short": b"abc"})
    with pytest.raises(ValueError, match="letters, digits"):
        pc_keys_uat({'a "quoted" label': NETWORK_KEY})

"""The adapter's own GBCS steps (tests/dcc_adapter/gbcs_user.mjs, Node's crypto) agree with the
rig's independent code: its UTRNs are the rig's (reference/gbcs.md §2, with the known answers),
a forged one is refused by the meter's check, and its signed pre-commands verify with the rig's
codec (§1.3, §1.4). Node only, no Java: quick."""

from __future__ import annotations

import json
import subprocess

import pytest
from adapter_tools import HERE, DccTools
from shared_dir import SHARED_DIR, require_shared

from rig.gbcs.codec import RemotePartyCodec
from rig.gbcs.errors import VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.utrn import UtrnError, ValueClass, make_utrn, verify_utrn
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore

SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
RTDS = SHARED_DIR / "gbcs-rtds"


def _node(dcc_tools: DccTools, script: str) -> object:
    """Run an ES module snippet that imports ``gbcs_user.mjs`` as ``g``; its JSON output."""
    source = f"import * as g from {json.dumps((HERE / 'gbcs_user.mjs').as_uri())};\n{script}"
    done = subprocess.run(
        [dcc_tools.node, "--input-type=module", "-e", source],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _keystore() -> KeyStore:
    return KeyStore([require_shared(RTDS / "keystore"), RTDS_KEYS])


@pytest.mark.parametrize(
    ("counter", "pence", "expected"),
    [(0x400000000, 1234, "73947252416745201637"), (0x100000000 * 7, 8191, None)],
)
def test_utrn_matches_the_rig(
    dcc_tools: DccTools, counter: int, pence: int, expected: str | None
) -> None:
    keys = _keystore()
    pp = RTDS_KEYS / f"{SUPPLIER.hex.lower()}-pp-ka.key"
    device = require_shared(RTDS / "keystore" / f"{ESME.hex.lower()}-ka.pem")
    made = _node(
        dcc_tools,
        f"""const fs = await import('node:fs');
const args = {{ ppKaKey: fs.readFileSync({json.dumps(str(pp))}),
  deviceKaCert: fs.readFileSync({json.dumps(str(device))}), originator: '{SUPPLIER}',
  target: '{ESME}', counter: {counter}n, pence: {pence} }};
console.log(JSON.stringify([g.makeUtrn(args), g.makeUtrn({{ ...args, forge: true }})]));""",
    )
    assert isinstance(made, list)
    good, forged = made
    rig = make_utrn(
        keys.ka_private(SUPPLIER, prepayment=True),
        keys.ka_public(ESME),
        SUPPLIER,
        ESME,
        counter,
        pence,
        ValueClass.PENNIES,
    )
    assert good == rig == (expected or rig)
    device_key = keys.ka_private(ESME)
    supplier_pp = keys.ka_public(SUPPLIER, prepayment=True)
    verify_utrn(good, supplier_pp, device_key, SUPPLIER, ESME, counter)
    with pytest.raises(UtrnError, match="not for this device"):
        verify_utrn(forged, supplier_pp, device_key, SUPPLIER, ESME, counter)


def test_signed_precommand_verifies_with_the_rig(dcc_tools: DccTools) -> None:
    vector = require_shared(
        RTDS / "vectors" / "7.2_ECS43" / "ECS43_7.2_SUCCESS_PRECOMMAND_GBCS.HEX"
    )
    rtds_form = bytes.fromhex(vector.read_text().strip())
    ds_key = RTDS_KEYS / f"{SUPPLIER.hex.lower()}-ds.key"
    codec = RemotePartyCodec(_keystore())
    for precommand in (rtds_form, rtds_form + b"\x00"):  # RTDS form and DUIS null-signature form
        result = _node(
            dcc_tools,
            f"""const fs = await import('node:fs');
const key = fs.readFileSync({json.dumps(str(ds_key))});
const signed = g.signPreCommand(Buffer.from('{precommand.hex()}', 'hex'), key);
let again = null;
try {{ g.signPreCommand(signed, key); }} catch (e) {{ again = e.message; }}
console.log(JSON.stringify([signed.toString('hex'), again]));""",
        )
        assert isinstance(result, list)
        signed, again = result
        assert "already signed" in again  # never signed twice
        sealed = codec.send_signed_precommand(bytes.fromhex(signed))
        assert sealed.startswith(b"\xdd")  # the ACB's MAC added: accepted
        tampered = bytearray(bytes.fromhex(signed))
        tampered[-70] ^= 1  # a payload byte
        with pytest.raises(VerifyError):
            codec.send_signed_precommand(bytes(tampered))

"""The bench file's ``[han]`` table and ``transport = "han"`` devices (rig/config/han.py)."""

import re
from pathlib import Path

import pytest

from rig.config.bench import BenchError, load_bench
from rig.zigbee.pki import generate

CODE = "83FED3407A939723A5C639B26916D505C3B5"  # issue 15's install code (CRC C3B5)
DOCS_HAN = Path(__file__).resolve().parents[2] / "docs" / "han.md"

HAN = f"""
[bench]
name = "han"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[han]
emulated = true
eui = "00-DB-12-34-56-78-94-01"
channel = 15
pan_id = 0x4742
extended_pan_id = "00-DB-12-34-56-78-94-01"
network_key = "00112233445566778899AABBCCDDEEFF"
loss = 0.0
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-94-02"
transport = "han"
install_code = "{CODE}"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text(text)
    return path


def test_a_han_bench_loads(tmp_path):
    bench = load_bench(write(tmp_path, HAN))
    assert bench.han is not None and bench.han.emulated and bench.han.port is None
    assert (bench.han.channel, bench.han.pan_id) == (15, 0x4742)
    assert bench.han.network_key == bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    esme = bench.device("esme")
    assert esme.transport == "han" and esme.emulated
    assert esme.install_code == bytes.fromhex(CODE)


HUB, METER = "00DB123456789401", "00DB123456789402"
PHYSICAL = (
    HAN.replace(
        "emulated = true",
        f'port = "/dev/ttyACM0"\nca = "pki/ca.json"\ncertificate = "pki/{HUB}.json"',
    )
    .replace("loss = 0.0\n", "")
    .replace('transport = "han"', f'transport = "han"\ncertificate = "pki/{METER}.json"')
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test PKI for the Comms Hub and the meter, and a second CA's."""
    folder = tmp_path_factory.mktemp("bench")
    generate(folder / "pki", [bytes.fromhex(HUB), bytes.fromhex(METER)])
    generate(folder / "other", [bytes.fromhex(HUB), bytes.fromhex(METER)], b"OTHERCA1")
    return folder


def test_a_physical_radio_with_its_pki(pki):
    bench = load_bench(write(pki, PHYSICAL))
    assert bench.han is not None and bench.han.port == "/dev/ttyACM0"
    assert bench.han.baudrate == 460800 and not bench.device("esme").emulated
    assert bench.han.credentials is not None and bench.han.ca is not None
    assert bench.han.credentials.certificate.subject == bytes.fromhex(HUB)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('ca = "pki/ca.json"\n', "", r"han\.ca: expected the test CA's file .*\(missing\)"),
        ('ca = "pki/ca.json"', 'ca = "pki/none.json"', r"han\.ca: .*none\.json.*, got 'pki/none"),
        ('ca = "pki/ca.json"', 'ca = "other/ca.json"', r"han\.certificate: .*issuer"),
        (
            f'certificate = "pki/{HUB}.json"',
            f'certificate = "pki/{METER}.json"',
            rf"han\.certificate: .*subject {METER}, not {HUB}",
        ),
        (
            f'certificate = "pki/{METER}.json"',
            f'certificate = "other/{METER}.json"',
            r"device\[0\]\.certificate: .*issuer",
        ),
        (
            f'certificate = "pki/{METER}.json"\n',
            "",
            r"device\[0\]\.certificate: expected the device's certificate file \(missing\)",
        ),
    ],
)
def test_pki_errors_name_the_file_key_and_value(pki, old, new, message):
    path = write(pki, PHYSICAL.replace(old, new, 1))
    with pytest.raises(BenchError, match=message) as info:
        load_bench(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_an_emulated_han_takes_no_pki_files(tmp_path):
    text = HAN.replace("emulated = true", 'emulated = true\nca = "ca.json"')
    with pytest.raises(BenchError, match=r"han\.ca: expected unset with the emulated radio"):
        load_bench(write(tmp_path, text))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "channel = 15",
            "channel = 27",
            r"han\.channel: expected a 2\.4 GHz channel 11-26, got 27",
        ),
        ("pan_id = 0x4742", "pan_id = 0xFFFF", r"han\.pan_id: expected a PAN ID .*, got 65535"),
        (
            'network_key = "00112233445566778899AABBCCDDEEFF"',
            'network_key = "0011"',
            r"han\.network_key: expected 32 hex digits, got '0011'",
        ),
        (
            'extended_pan_id = "00-DB-12-34-56-78-94-01"',
            'extended_pan_id = "zz"',
            r"han\.extended_pan_id: expected 16 hex digits, got 'zz'",
        ),
        (
            "emulated = true",
            'emulated = true\nport = "/dev/ttyACM0"',
            r"han\.emulated: expected exactly one",
        ),
        (
            "emulated = true",
            'port = "/dev/ttyACM0"',
            r"han\.(loss: expected unset with a physical radio|ca: )",
        ),
        ("loss = 0.0", "loss = 2.0", r"han\.loss: expected a probability 0-1, got 2\.0"),
        ("loss = 0.0", "los = 0.0", r"han\.los: unknown key"),
        (
            f'install_code = "{CODE}"',
            f'install_code = "{CODE[:-1]}4"',
            rf"device\[0\]\.install_code: expected an install code with its CRC \(.*\), "
            rf"got '{CODE[:-1]}4'",
        ),
        (
            f'install_code = "{CODE}"',
            'install_code = "xyz"',
            r"device\[0\]\.install_code: expected hex digits, got 'xyz'",
        ),
        (
            f'install_code = "{CODE}"',
            "",
            r"device\[0\]\.install_code: expected hex digits \(missing\)",
        ),
        (
            'kind = "esme"',
            'kind = "ppmid"',
            r"device\[0\]\.kind: expected one of esme, gsme on the HAN",
        ),
        (
            'transport = "han"',
            'transport = "han"\nport = "/dev/ttyUSB0"',
            r"device\[0\]\.port: expected unset on a HAN device",
        ),
        (
            'transport = "han"',
            'transport = "han"\nemulated = false',
            r"device\[0\]\.emulated: expected as the HAN's \(True\)",
        ),
        (
            'transport = "han"',
            'transport = "pty"',
            r"device\[0\]\.install_code: expected unset unless transport = \"han\"",
        ),
    ],
)
def test_errors_name_the_file_key_and_value(tmp_path, old, new, message):
    path = write(tmp_path, HAN.replace(old, new))
    with pytest.raises(BenchError, match=message) as info:
        load_bench(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_han_device_needs_the_han_table(tmp_path):
    text = HAN[: HAN.index("[han]")] + HAN[HAN.index("[[device]]") :]
    with pytest.raises(BenchError, match=r"device\[0\]\.transport: expected a \[han\] table"):
        load_bench(write(tmp_path, text))


#: What a bench said for a meter over the SLIP radio bridge, before the Spinel radio replaced it.
ZIGBEE = """
[bench]
name = "old"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "meter"
kind = "{kind}"
eui = "00-DB-12-34-56-78-91-01"
emulated = true
transport = "zigbee"
"""


@pytest.mark.parametrize(
    ("kind", "replacement"),
    [
        (
            "esme",
            r'expected "han" \(the SLIP ZigBee bridge was replaced by the Spinel radio: give '
            r'this device transport = "han" and its install_code, and the bench a \[han\] table',
        ),
        ("gsme", r'expected "han" \(the SLIP ZigBee bridge was replaced'),
        (
            "comms_hub",
            r"expected one of pty, tcp, rfc2217, han \(the SLIP ZigBee bridge was replaced by the "
            r"Spinel radio: the hub's emulator over a link, or transport = \"han\" for the rig "
            r"itself as the Comms Hub of the bench's \[han\]",
        ),
        ("ppmid", r"expected one of pty, tcp, rfc2217 \(.*takes an esme or gsme only"),
    ],
)
def test_transport_zigbee_is_one_line_naming_its_replacement(tmp_path, kind, replacement):
    path = write(tmp_path, ZIGBEE.format(kind=kind))
    with pytest.raises(BenchError) as info:
        load_bench(path)
    message = str(info.value)
    assert message.startswith(f"{path}: device[0].transport: expected ")
    assert message.endswith(", got 'zigbee'") and "\n" not in message
    assert re.search(replacement, message), message
    assert 'docs/han.md "Bench files that say zigbee"' in message


def test_the_documented_replacement_of_a_zigbee_bench_loads(tmp_path):
    """docs/han.md "Bench files that say zigbee": the bench file it gives loads, the ESME on the
    emulated HAN."""
    section = DOCS_HAN.read_text().split("### Bench files that say zigbee", 1)[1]
    (toml,) = re.findall(r"```toml\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    bench = load_bench(write(tmp_path, toml))
    assert bench.han is not None and bench.han.emulated
    esme = bench.device("esme")
    assert (esme.transport, esme.emulated, esme.install_code) == ("han", True, bytes.fromhex(CODE))

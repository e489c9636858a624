"""The C accelerator ``rig.gbcs._wire`` against the pure-Python reference in ``rig.gbcs.frame``
(docs/gbcs-codec.md, "Benchmark"): the same results for valid input, the same errors (offset and
reason) for bad input, a decoder that declines exactly what the reference rejects, no leaks, and
the import-time choice (``RIG_PURE_PYTHON``, stale builds).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tracemalloc
from collections.abc import Iterator
from types import ModuleType

import pytest
from fuzz_decode import mutate, seeds
from gbcs_strategies import counters, euis, general_signings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.gbcs import accel, crypto, frame
from rig.gbcs.errors import DecodeError, VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, Message

try:
    from rig.gbcs import _wire
except ImportError:
    _wire = None

needs_wire = pytest.mark.skipif(_wire is None, reason="rig.gbcs._wire is not built")
SEEDS = seeds()
KEY = bytes(range(16))
DECLINED = object()


@contextlib.contextmanager
def declining(wire: ModuleType) -> Iterator[None]:
    """``wire.decode`` returns DECLINED instead of handing input to the Python decoder."""
    frame.bind_accelerator(wire, decode_fallback=lambda data: DECLINED)
    try:
        yield
    finally:
        frame.bind_accelerator(wire, decode_fallback=frame.py_decode)


@pytest.fixture(scope="module")
def wire() -> Iterator[ModuleType]:
    """The accelerator, bound as rig.gbcs.frame binds it (also under RIG_PURE_PYTHON=1)."""
    assert _wire is not None
    frame.bind_accelerator(_wire, decode_fallback=frame.py_decode)
    yield _wire


def described(message: Message) -> tuple[Message, str, list[type]]:
    """The message, its repr and the types of its fields: equal means the same in every way."""
    s = message.signing
    return message, repr(message), [type(getattr(s, f.name)) for f in dataclasses.fields(s)]


def outcome(decoder: object, data: bytes) -> tuple[str, object]:
    """("ok", :func:`described`) or ("error", (offset, reason))."""
    try:
        message = decoder(data)  # type: ignore[operator]
    except DecodeError as exc:
        return "error", (exc.offset, exc.reason)
    return "ok", described(message)


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """A valid frame: an RTDS vector, or any General-Signing APDU bare or in a MAC Header."""
    if draw(st.booleans()):
        return draw(st.sampled_from(SEEDS))
    signing = draw(general_signings())
    if draw(st.booleans()):
        return frame.encode_signed(signing)
    return frame.encode_mac_frame(signing, KEY)


@needs_wire
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.randoms(use_true_random=False))
def test_decode_declines_exactly_what_the_reference_rejects(
    wire: ModuleType, data: bytes, rnd: random.Random
) -> None:
    for candidate in (data, mutate(rnd, data, SEEDS)):
        with declining(wire):
            result = wire.decode(candidate)
        kind, expected = outcome(frame.py_decode, candidate)
        if kind == "error":
            assert result is DECLINED
        else:
            assert ("ok", described(result)) == (kind, expected)
            assert result.encode() == candidate


@needs_wire
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.randoms(use_true_random=False))
def test_decode_gives_the_reference_result_or_error(
    wire: ModuleType, data: bytes, rnd: random.Random
) -> None:
    mutated = mutate(rnd, data, SEEDS)
    for candidate in (data, mutated, bytearray(mutated), memoryview(mutated), mutated.hex()):
        assert outcome(wire.decode, candidate) == outcome(frame.py_decode, candidate)


@needs_wire
@given(st.binary(max_size=120))
def test_decode_of_any_bytes(wire: ModuleType, data: bytes) -> None:
    assert outcome(wire.decode, data) == outcome(frame.py_decode, data)


def _apdu_args(s: GeneralSigning) -> tuple[tuple[object, ...], dict[str, object]]:
    kwargs: dict[str, object] = {"supplementary": s._supplementary()}
    if s.date_time is not None:
        kwargs["date_time"] = s.date_time
    if not s.has_signature_field:
        kwargs["signature_field"] = b""
    elif s.signature is not None:
        kwargs["signature_field"] = bytes([64]) + s.signature
    return (s.cra, s.counter, s.originator, s.recipient, s.message_code, s.payload), kwargs


@needs_wire
@given(general_signings())
def test_encode_apdu_gives_the_reference_bytes(wire: ModuleType, s: GeneralSigning) -> None:
    args, kwargs = _apdu_args(s)
    assert wire.encode_apdu(*args, **kwargs) == frame.py_encode_apdu(*args, **kwargs)
    assert wire.encode_apdu(*args[:6]) == frame.py_encode_apdu(*args[:6])


def _error(call: object, *args: object, **kwargs: object) -> tuple[type, str] | bytes:
    try:
        return call(*args, **kwargs)  # type: ignore[operator]
    except Exception as exc:  # whatever the reference raises, the accelerator must too
        return type(exc), str(exc)


@needs_wire
@given(
    st.sampled_from([0, 1, 3, 4, -1, True, 1.0, Cra.ALERT]),
    st.sampled_from([0, (1 << 64) - 1, 1 << 64, -1]),
    st.sampled_from([0, 0xFFFF, 0x10000, -1]),
    st.sampled_from([b"", b"x" * 200, bytearray(b"ab"), "text"]),
    st.sampled_from([{}, {"date_time": bytes(12)}, {"date_time": b"short"}, {"other": 1}]),
    euis,
)
def test_encode_apdu_hands_unusual_arguments_to_the_reference(
    wire: ModuleType, cra: object, counter: int, code: int, payload: object, kwargs: dict, eui
) -> None:
    args = (cra, counter, eui, eui, code, payload)
    assert _error(wire.encode_apdu, *args, **kwargs) == _error(
        frame.py_encode_apdu, *args, **kwargs
    )
    assert _error(wire.encode_apdu, *args[:5]) == _error(frame.py_encode_apdu, *args[:5])


@needs_wire
@given(general_signings(), st.binary(min_size=0, max_size=80), counters)
def test_apdu_mac_and_mac_frame_give_the_reference_bytes(
    wire: ModuleType, s: GeneralSigning, prefix: bytes, counter: int
) -> None:
    apdu = s.encode()
    assert wire.apdu_mac(prefix, apdu) == frame.py_apdu_mac(prefix, apdu)
    mac = counter.to_bytes(8, "big") + bytes(4)
    assert wire.mac_frame(apdu, mac) == frame._py_seal(apdu, mac)


@needs_wire
@given(general_signings(), st.binary(min_size=0, max_size=40), st.binary(max_size=13))
def test_check_apdu_mac_passes_or_raises_the_reference_error(
    wire: ModuleType, s: GeneralSigning, prefix: bytes, wrong: bytes
) -> None:
    apdu = s.encode()
    assert wire.check_apdu_mac(prefix, apdu, frame.py_apdu_mac(prefix, apdu)) is None
    assert _error(wire.check_apdu_mac, prefix, apdu, wrong) == _error(
        frame.py_check_apdu_mac, prefix, apdu, wrong
    )


@needs_wire
@pytest.mark.parametrize("size", [0x7F - 17, 0x80 - 17, 0xFF - 17, 0x100 - 17, 70_000])
def test_mac_frame_length_forms(wire: ModuleType, size: int) -> None:
    apdu = bytes(size)
    assert wire.mac_frame(apdu, bytes(12)) == frame._py_seal(apdu, bytes(12))


@needs_wire
def test_apdu_mac_of_a_short_apdu_is_the_reference_error(wire: ModuleType) -> None:
    assert _error(wire.apdu_mac, b"p", bytes(28)) == _error(frame.py_apdu_mac, b"p", bytes(28))


PREFIX = b"\x00\x00\x00\x01kdf-prefix"


class _Prefixes(dict[bytes, bytes]):
    """Like codec._PairPrefixes: a missing pair raises from __missing__."""

    def __missing__(self, titles: bytes) -> bytes:
        raise LookupError(titles)


def _reference_open(data: bytes, prefixes: dict[bytes, bytes]) -> Message | None:
    """What open_mac must give: the Message of a valid MAC'd unsigned response or alert whose MAC
    verifies under prefixes[its titles], else None."""
    try:
        message = frame.py_decode(data)
    except DecodeError:
        return None
    s = message.signing
    if message.mac is None or s.cra is Cra.COMMAND or s.signature is not None:
        return None
    apdu = s.encode()
    try:
        frame.py_check_apdu_mac(prefixes[apdu[frame.TITLES]], apdu, message.mac)
    except (LookupError, VerifyError, ValueError):
        return None
    return message


@needs_wire
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(general_signings(), st.randoms(use_true_random=False))
def test_open_mac_gives_the_reference_message_or_declines(
    wire: ModuleType, s: GeneralSigning, rnd: random.Random
) -> None:
    apdu = s.encode()
    prefixes = _Prefixes({apdu[frame.TITLES]: PREFIX})
    sealed = frame._py_seal(apdu, frame.py_apdu_mac(PREFIX, apdu))
    for candidate in (sealed, mutate(rnd, sealed, SEEDS), frame.encode_mac_frame(s, KEY)):
        expected = _reference_open(candidate, prefixes)
        opened = wire.open_mac(candidate, prefixes)
        if expected is None:
            assert opened is None
        else:
            assert described(opened) == described(expected)
        memo = {(s.message_code, s.cra, s.payload[:2] + s.payload[5:]): "remembered"}
        pair = wire.open_mac_typed(prefixes, memo, _declined, _decoded, candidate)
        if expected is None:
            assert pair == ("declined", candidate)
        else:
            message, typed = pair
            assert described(message) == described(expected)
            hit = len(s.payload) >= 5 and message.signing == s
            m = message.signing
            assert typed == ("remembered" if hit else ("decoded", m.message_code, m.payload, m.cra))


def _declined(frame: bytes) -> tuple[str, bytes]:
    return "declined", frame


def _decoded(code: int, payload: bytes, cra: Cra) -> tuple[str, int, bytes, Cra]:
    return "decoded", code, payload, cra


@needs_wire
def test_open_mac_typed_looks_up_the_memo_every_time(wire: ModuleType) -> None:
    """A memo that no longer holds a key misses, though the key object is reused; other codes,
    CRAs or payload bytes miss; short payloads are decoded; a decoder's error propagates."""
    s = GeneralSigning(
        Cra.RESPONSE,
        5,
        Eui64.of(bytes(8)),
        Eui64.of(bytes(range(8))),
        82,
        bytes.fromhex("DA2000000500"),
    )
    apdu = s.encode()
    data = frame._py_seal(apdu, frame.py_apdu_mac(PREFIX, apdu))
    prefixes = {apdu[frame.TITLES]: PREFIX}
    memo = {(82, Cra.RESPONSE, bytes.fromhex("DA2000")): "remembered"}
    decoded = ("decoded", 82, s.payload, Cra.RESPONSE)
    assert wire.open_mac_typed(prefixes, memo, _declined, _decoded, data)[1] == "remembered"
    assert wire.open_mac_typed(prefixes, memo, _declined, _decoded, data)[1] == "remembered"
    memo.clear()
    assert wire.open_mac_typed(prefixes, memo, _declined, _decoded, data)[1] == decoded
    for key in (
        (83, Cra.RESPONSE, b"\xda\x20\x00"),
        (82, Cra.ALERT, b"\xda\x20\x00"),
        (82, Cra.RESPONSE, b"\xda\x20\x01"),
    ):
        assert wire.open_mac_typed(prefixes, {key: 1}, _declined, _decoded, data)[1] == decoded
    short = dataclasses.replace(s, payload=b"\xda\x20\x00\x00")
    apdu = short.encode()
    data = frame._py_seal(apdu, frame.py_apdu_mac(PREFIX, apdu))
    assert wire.open_mac_typed(prefixes, {}, _declined, _decoded, data)[1][2] == short.payload

    def fails(code: int, payload: bytes, cra: Cra) -> None:
        raise DecodeError(0, "malformed")

    with pytest.raises(DecodeError, match="malformed"):
        wire.open_mac_typed(prefixes, {}, _declined, fails, data)
    with pytest.raises(TypeError):
        wire.open_mac(data, [])
    with pytest.raises(TypeError):
        wire.open_mac_typed(prefixes, {}, _declined, _decoded)


@needs_wire
def test_no_leaks(wire: ModuleType) -> None:
    """Traced memory does not grow over many calls, errors and declines included."""
    rnd = random.Random(5)
    inputs = [mutate(rnd, rnd.choice(SEEDS), SEEDS) for _ in range(200)] + SEEDS
    s = frame.decode(SEEDS[0]).signing
    args, kwargs = _apdu_args(s)

    def work() -> None:
        for data in inputs:
            with contextlib.suppress(DecodeError):
                wire.decode(data)
        wire.encode_apdu(*args, **kwargs)
        wire.apdu_mac(b"prefix", s.encode())
        with contextlib.suppress(ValueError):
            wire.encode_apdu(4, *args[1:])
        with contextlib.suppress(ValueError):
            wire.apdu_mac(b"", b"short")
        wire.mac_frame(s.encode(), bytes(12))
        wire.check_apdu_mac(b"prefix", s.encode(), wire.apdu_mac(b"prefix", s.encode()))
        with contextlib.suppress(VerifyError):
            wire.check_apdu_mac(b"prefix", s.encode(), bytes(12))
        for data in inputs:
            wire.open_mac(data, _Prefixes())
            wire.open_mac_typed({s.encode()[frame.TITLES]: b"p"}, {}, len, _decoded, data)

    work()
    tracemalloc.start()
    try:
        work()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(30):
            work()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, grown


@needs_wire
def test_decoded_objects_are_the_reference_types(wire: ModuleType) -> None:
    message = wire.decode(SEEDS[0])
    assert type(message) is Message and type(message.signing) is GeneralSigning
    assert type(message.signing.cra) is Cra
    assert dataclasses.replace(message.signing) == message.signing  # fields pass __post_init__


def test_the_accelerator_is_used_where_a_compiler_is() -> None:
    """A machine with a C compiler and the Python headers builds the extension
    (``pip install -e .``), and the codec uses it unless RIG_PURE_PYTHON=1."""
    headers = os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
    if os.environ.get("RIG_PURE_PYTHON") == "1":
        assert accel.WIRE is None and frame.decode is frame.py_decode
    elif (shutil.which("cc") or shutil.which("gcc")) and headers:
        assert accel.WIRE is not None, accel.DESCRIPTION
        assert frame.decode is accel.WIRE.decode
    else:
        pytest.skip("no C compiler: pure Python is expected")


def test_rig_pure_python_forces_the_python_path() -> None:
    code = (
        "from rig.gbcs import accel, frame as f; print(accel.DESCRIPTION, f.decode is f.py_decode)"
    )
    env = {**os.environ, "RIG_PURE_PYTHON": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "pure Python (RIG_PURE_PYTHON=1) True"


@needs_wire
def test_a_stale_build_is_refused_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIG_PURE_PYTHON", raising=False)
    monkeypatch.setattr(_wire, "SOURCE_SHA256", "0" * 64)
    with pytest.warns(RuntimeWarning, match="built from other source"):
        wire, description = accel._load()
    assert wire is None and "stale" in description


@needs_wire
def test_crypto_calls_are_the_reference_ones(wire: ModuleType) -> None:
    """apdu_mac calls the hash and AEAD crypto.kdf_mac calls: the same MAC as the field-wise
    KDF and GMAC of reference/gbcs.md §1.4."""
    s = frame.decode(SEEDS[0]).signing
    z = bytes(range(32))
    key = crypto.kdf_from_secret(z, s.originator, s.cra, s.counter, s.recipient)
    assert wire.apdu_mac(crypto.kdf_prefix(z), s.encode()) == crypto.gmac(
        key, s.originator, s.encode()
    )

"""Frame descriptions: any typed GBCS message as JSON / TOML, and back to bytes (issue 17).

:func:`describe` turns a frame into a description (a plain dict); :func:`build_frame` turns a
description into the frame, with the MAC, signature and encrypted parts computed from the keys;
``rig frame --from FILE`` and plans use the same two functions. A description names:

* ``use_case`` (``"ECS45"``) or ``message_code`` (``82`` or ``"0x0052"``), ``cra``
  (``command`` / ``response`` / ``alert``, default ``command``), ``counter``, ``originator`` and
  ``recipient`` (EUI-64), optional ``date_time`` (hex) and the supplementary fields of the
  other-information (§1.2);
* ``type`` (the typed payload class, by name; optional for a command whose class alone has the
  use case's ``MESSAGE_CODE``) and ``payload``: that class's dataclass fields by name, enums by
  name, bytes as hex, EUI-64s as text, decimals as strings, nested dataclasses as tables, tuples
  as lists, A-XDR data as ``{"tag": "OCTET_STRING", "value": …}``; from Python, ``payload`` may
  be the typed object itself (then ``type`` is not needed);
* ``form``: ``mac`` (null signature, MAC'd), ``signed+mac`` (critical command), ``signed``
  (critical response or alert: no MAC), ``precommand`` (DUIS null signature) or
  ``precommand-rtds`` (no signature byte). Default: ``signed+mac`` for a critical command,
  ``signed`` for a critical response or alert, else ``mac``;
* optional ``mac`` (hex, used as is: for a frame whose MAC key pair no store holds, such as
  the RTDS PCS01 between two devices), ``signature`` (hex, used as is: ECDSA is not
  deterministic; without it the originator's DS private key signs) and ``encrypted_parts``
  (plaintexts, hex: each encrypted part of the built payload is replaced by their encryption,
  :func:`rig.gbcs.protect.reencrypt`). To craft a new response, give an encrypted part's field as
  ``{"encrypt": "<plaintext hex>"}`` instead: it is encrypted under the frame's keys.

The mapping is generic (dataclass fields and type hints), so typed classes added to ``rig.gbcs``
later work without changes here. The declarative layers type their generated classes field by
field (:attr:`rig.gbcs.cosem.schema.Schema.hint`, :func:`rig.gbcs.zcl.hint_of`); the one protocol
a typed class may add is for fields whose type depends on other fields (an access's data on its
COSEM member, a GBZ component's body on its cluster and command): such a field is annotated
``Any`` and the class's ``description_hints(values) -> {field: type}`` names its type from the
other fields' values. A class whose ``parse`` takes a ``str`` (an EUI-64, an OBIS code) is written
as its text. A value of a union type is read by its JSON type (a string is tried as bytes before
an integer). Every error is :class:`DescriptionError`: one line naming the key path and the value.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import importlib
import json
import pkgutil
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import Any

import rig.gbcs
from rig.gbcs import crypto
from rig.gbcs.codes import CODE_BY_NAME, CRITICAL_CODES, MESSAGE_CODE_TABLE
from rig.gbcs.dlms import CompactArray, Data, Tag
from rig.gbcs.errors import GbcsError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, Message, decode, encode_signed, mac_frame
from rig.gbcs.protect import KeyUnavailable, decrypt_parts, find_parts, pair_secret, reencrypt
from rig.gbcs.tree import mac_key_pair
from rig.gbcs.usecases import decode_payload
from rig.keys.keystore import KeyStore

FORMS = ("mac", "signed+mac", "signed", "precommand", "precommand-rtds")
_SUPPLEMENTARY = (
    "supplementary_remote_party_id",
    "supplementary_remote_party_counter",
    "supplementary_originator_counter",
    "supplementary_remote_party_ka_certificate",
)
#: Modules of rig.gbcs that hold no payload types (the C accelerator, the CLI).
_SKIP_MODULES = frozenset({"_wire", "commands"})


class DescriptionError(GbcsError, ValueError):
    """A description that does not make a frame: ``where`` is the key path (``payload.rate``)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(where, reason)
        self.where, self.reason = where, reason

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason


# --- typed object <-> JSON values -----------------------------------------------------------


def _names_enum(hint: Any) -> bool:
    if isinstance(hint, type):
        return issubclass(hint, Enum)
    return any(_names_enum(arg) for arg in typing.get_args(hint))


def to_value(obj: object, hint: Any = None) -> Any:
    """A JSON / TOML value for a typed payload value (see the module docstring); ``hint`` is the
    field's type: an enum in a field typed ``int`` is written as its number."""
    if isinstance(obj, Data):
        return {"tag": obj.tag.name, "value": to_value(obj.value)}
    if isinstance(obj, Enum):
        return obj.name if hint is None or _names_enum(hint) else obj.value
    if isinstance(obj, bool | int | str) or obj is None:
        return obj
    if isinstance(obj, bytes | bytearray):
        return bytes(obj).hex().upper()
    kind: type = type(obj)  # as a plain type: mypy cannot hash type[object] into the cache
    if isinstance(obj, Decimal) or _is_text(kind):
        return str(obj)
    if isinstance(obj, tuple | list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        if typing.get_origin(hint) is tuple and len(args) == len(obj) > 1:
            return [to_value(item, arg) for item, arg in zip(obj, args, strict=True)]
        return [to_value(item, args[0] if len(args) == 1 else None) for item in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}
        hints = _field_hints(type(obj), values)
        return {name: to_value(value, hints[name]) for name, value in values.items()}
    raise TypeError(f"no description for {type(obj).__name__}")


@functools.cache
def _is_text(cls: type) -> bool:
    """A class written as its text: ``str()`` out, its ``parse(text: str)`` in."""
    parse = getattr(cls, "parse", None)
    if parse is None or getattr(parse, "__self__", None) is not cls:
        return False
    try:
        params = list(typing.get_type_hints(parse).items())
    except (NameError, TypeError):
        return False
    return bool(params) and params[0][0] != "return" and params[0][1] is str


def _field_hints(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """``cls``'s field types, those of its ``Any`` fields from ``cls.description_hints``."""
    hints = _hints(cls)
    own = getattr(cls, "description_hints", None)
    return hints if own is None else {**hints, **own(dict(values))}


def _fail(where: str, value: object, expected: str) -> DescriptionError:
    shown = json.dumps(value, default=str)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return DescriptionError(where, f"{shown} is not {expected}")


def _hex(value: object, where: str) -> bytes:
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    raise _fail(where, value, "hex bytes")


def _int(value: object, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            pass
    raise _fail(where, value, "an integer")


def _data(value: object, where: str) -> Data:
    if not isinstance(value, Mapping) or set(value) - {"tag", "value"} or "tag" not in value:
        raise _fail(where, value, 'A-XDR data {"tag": …, "value": …}')
    tag = _enum(Tag, value["tag"], f"{where}.tag")
    raw = value.get("value")
    inner: object
    if tag in (Tag.ARRAY, Tag.STRUCTURE):
        if not isinstance(raw, list):
            raise _fail(f"{where}.value", raw, "a list")
        inner = tuple(_data(item, f"{where}.value[{i}]") for i, item in enumerate(raw))
    elif tag is Tag.COMPACT_ARRAY:
        inner = build_object(CompactArray, raw, f"{where}.value")
    elif raw is None or tag is Tag.BIT_STRING:
        inner = raw
    elif isinstance(raw, str):
        inner = _hex(raw, f"{where}.value")
    else:
        inner = _int(raw, f"{where}.value")
    return Data(tag, inner)  # type: ignore[arg-type]


def _enum(cls: type[Enum], value: object, where: str) -> Any:
    if isinstance(value, str) and value in cls.__members__:
        return cls[value]
    try:
        return cls(value)
    except ValueError:
        names = ", ".join(cls.__members__)
        raise _fail(where, value, f"a {cls.__name__} ({names})") from None


def from_value(hint: Any, value: object, where: str) -> Any:
    """The typed value of ``hint`` (a type hint) for a JSON / TOML ``value``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        # a string is an integer only if no other option reads it (int | bytes: hex is bytes)
        ordered = sorted(options, key=lambda o: o is int and isinstance(value, str))
        for option in (o for o in ordered if o is not type(None)):
            try:
                return from_value(option, value, where)
            except DescriptionError as exc:
                errors.append(exc)
        raise errors[0] if len(errors) == 1 else _fail(where, value, f"a {hint}")
    if origin in (tuple, list):
        if not isinstance(value, list):
            raise _fail(where, value, "a list")
        args = typing.get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise _fail(where, value, f"a list of {len(args)}")
            items: Iterable[tuple[Any, Any]] = zip(args, value, strict=True)
        else:
            items = ((args[0] if args else Any, v) for v in value)
        return tuple(from_value(h, v, f"{where}[{i}]") for i, (h, v) in enumerate(items))
    return _scalar(hint, value, where)


def _scalar(hint: Any, value: object, where: str) -> Any:
    if hint is Any:
        return value
    if hint is Data:
        return _data(value, where)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _enum(hint, value, where)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _fail(where, value, "true or false")
    if hint is int:
        return _int(value, where)
    if hint is bytes:
        if isinstance(value, Mapping) and set(value) == {"encrypt"}:
            return _placeholder(_hex(value["encrypt"], f"{where}.encrypt"))
        return _hex(value, where)
    if hint is str:
        if isinstance(value, str):
            return value
        raise _fail(where, value, "a string")
    if isinstance(hint, type) and _is_text(hint):
        try:
            return hint.parse(value)  # type: ignore[attr-defined]
        except (ValueError, TypeError, AttributeError):
            raise _fail(where, value, _TEXT_NAMES.get(hint, f"a {hint.__name__}")) from None
    if hint is Decimal:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise _fail(where, value, "a decimal") from None
    if dataclasses.is_dataclass(hint):
        return build_object(hint, value, where)  # type: ignore[arg-type]
    if hint is type(None) and value is None:
        return None
    raise _fail(where, value, f"a {getattr(hint, '__name__', hint)}")


def build_object(cls: type, fields: object, where: str = "payload") -> Any:
    """An instance of the dataclass ``cls`` from a table of its fields (recursively)."""
    if not isinstance(fields, Mapping):
        raise _fail(where, fields, f"a table of {cls.__name__} fields")
    hints = _hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise DescriptionError(
            f"{where}.{unknown[0]}", f"not a field of {cls.__name__} ({', '.join(known) or 'none'})"
        )
    for name, f in known.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in fields:
            raise DescriptionError(f"{where}.{name}", f"missing (a field of {cls.__name__})")
    # fields typed Any last: their types come from the others' values (description_hints)
    later = [n for n in known if hints[n] is Any and hasattr(cls, "description_hints")]
    kwargs = {
        name: from_value(hints[name], fields[name], f"{where}.{name}")
        for name in known
        if name in fields and name not in later
    }
    if later:
        defaults = {n: f.default for n, f in known.items() if f.default is not dataclasses.MISSING}
        late_hints = _field_hints(cls, {**defaults, **kwargs})
        for name in (n for n in later if n in fields):
            kwargs[name] = from_value(late_hints[name], fields[name], f"{where}.{name}")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise DescriptionError(where, f"{cls.__name__}: {exc}") from None


#: Names in error messages of the classes written as text.
_TEXT_NAMES: dict[type, str] = {Eui64: "an EUI-64"}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


#: Plaintexts of ``{"encrypt": …}`` fields by their placeholder block, while a frame is built.
_TO_ENCRYPT: contextvars.ContextVar[dict[bytes, bytes]] = contextvars.ContextVar("to_encrypt")


def _placeholder(plaintext: bytes) -> bytes:
    """A block of the right size (``31 00000000``, zeros, a tag numbering it) that
    :func:`build_frame` replaces by the encryption of ``plaintext``."""
    pending = _TO_ENCRYPT.get(None)
    if pending is None:
        raise DescriptionError("", '{"encrypt": …} is only allowed in a frame description')
    tag = b"\xee" * 8 + len(pending).to_bytes(4, "big")
    block = crypto.ENCRYPTED_PART_HEADER + bytes(len(plaintext)) + tag
    pending[block] = plaintext
    return block


# --- payload types -------------------------------------------------------------------------


@functools.cache
def payload_types() -> dict[str, type]:
    """Every typed payload class of ``rig.gbcs`` by name: the dataclasses with an ``encode``
    method, found in every module of the package and its subpackages (new modules included)."""
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(rig.gbcs.__path__, "rig.gbcs."):
        if info.name.rsplit(".", 1)[1] in _SKIP_MODULES:
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and obj.__module__ == module.__name__
                and dataclasses.is_dataclass(obj)
                and callable(getattr(obj, "encode", None))
            ):
                found.setdefault(obj.__name__, obj)
    return found


def _payload_type(description: Mapping[str, Any], code: int, cra: Cra) -> type:
    types_ = payload_types()
    name = description.get("type")
    if name is not None:
        if name not in types_:
            raise _fail("type", name, "a typed payload class of rig.gbcs")
        return types_[name]
    if cra is Cra.COMMAND:
        matches = [t for t in types_.values() if getattr(t, "MESSAGE_CODE", None) == code]
        if len(matches) == 1:
            return matches[0]
    raise DescriptionError("type", f"missing: name the payload class of 0x{code:04X} {cra.name}")


# --- frames --------------------------------------------------------------------------------


def _form(message: Message) -> str:
    s = message.signing
    if message.mac is not None:
        return "mac" if s.signature is None else "signed+mac"
    if s.signature is not None:
        return "signed"
    return "precommand" if s.has_signature_field else "precommand-rtds"


def describe(frame: bytes | Message, keys: KeyStore | None = None) -> dict[str, Any]:
    """The description of a frame: :func:`build_frame` with the same keys gives it back byte for
    byte (a signature is kept; with ``keys``, encrypted parts are given as plaintexts)."""
    message = frame if isinstance(frame, Message) else decode(bytes(frame))
    s = message.signing
    row = MESSAGE_CODE_TABLE.get(s.message_code)
    typed = decode_payload(s.message_code, s.payload, s.cra)
    out: dict[str, Any] = {
        "use_case" if row else "message_code": row.name if row else f"0x{s.message_code:04X}",
        "cra": s.cra.name.lower(),
        "counter": s.counter,
        "originator": str(s.originator),
        "recipient": str(s.recipient),
    }
    if s.date_time is not None:
        out["date_time"] = s.date_time.hex().upper()
    for name in _SUPPLEMENTARY:
        if (value := getattr(s, name)) is not None:
            out[name] = to_value(value)
    out["form"] = _form(message)
    if message.mac is not None and not _mac_computable(s, keys):
        out["mac"] = message.mac.hex().upper()
    if s.signature is not None:
        out["signature"] = s.signature.hex().upper()
    out["type"] = type(typed).__name__
    out["payload"] = to_value(typed)
    parts = decrypt_parts(s, keys) if keys is not None else ()
    if parts and all(p.plaintext is not None for p in parts):
        out["encrypted_parts"] = [p.plaintext.hex().upper() for p in parts]  # type: ignore[union-attr]
    return out


def _mac_computable(signing: GeneralSigning, keys: KeyStore | None) -> bool:
    try:
        pair_secret(_keys(keys), *mac_key_pair(signing))
    except (DescriptionError, KeyUnavailable):
        return False
    return True


def _message_code(description: Mapping[str, Any]) -> int:
    if "use_case" in description:
        name = description["use_case"]
        code = CODE_BY_NAME.get(name) if isinstance(name, str) else None
        if code is None:
            raise _fail("use_case", name, "a GBCS use case name (e.g. ECS45)")
        return code
    if "message_code" not in description:
        raise DescriptionError("use_case", "missing (or give message_code)")
    code = _int(description["message_code"], "message_code")
    if not 0 <= code <= 0xFFFF:
        raise _fail("message_code", code, "a 16-bit message code")
    return code


def _required(description: Mapping[str, Any], key: str) -> Any:
    if key not in description:
        raise DescriptionError(key, "missing")
    return description[key]


def _signing(description: Mapping[str, Any], code: int, cra: Cra, payload: bytes) -> GeneralSigning:
    counter = _int(_required(description, "counter"), "counter")
    originator, recipient = (
        from_value(Eui64, _required(description, k), k) for k in ("originator", "recipient")
    )
    extra = {
        name: from_value(
            Eui64 if name.endswith("_id") else bytes if name.endswith("certificate") else int,
            description[name],
            name,
        )
        for name in _SUPPLEMENTARY
        if name in description
    }
    date_time = description.get("date_time")
    try:
        return GeneralSigning(
            cra,
            counter,
            originator,
            recipient,
            code,
            payload,
            None if date_time is None else _hex(date_time, "date_time"),
            **extra,
        )
    except ValueError as exc:
        raise DescriptionError("", str(exc)) from None


_UNKNOWN_KEYS_OK = frozenset(
    {"use_case", "message_code", "cra", "counter", "originator", "recipient", "date_time"}
    | set(_SUPPLEMENTARY)
    | {"form", "signature", "mac", "type", "payload", "encrypted_parts"}
)


def build_frame(description: Mapping[str, Any], keys: KeyStore | None) -> bytes:
    """The frame a description names (see the module docstring); :class:`DescriptionError` for
    a bad description or a key it needs that ``keys`` lacks."""
    unknown = sorted(set(description) - _UNKNOWN_KEYS_OK)
    if unknown:
        raise DescriptionError(unknown[0], "unknown key")
    code = _message_code(description)
    cra = _enum(Cra, str(description.get("cra", "command")).upper(), "cra")
    pending: dict[bytes, bytes] = {}
    obj = description.get("payload", {})
    if not callable(getattr(obj, "encode", None)):
        token = _TO_ENCRYPT.set(pending)
        try:
            obj = build_object(_payload_type(description, code, cra), obj)
        finally:
            _TO_ENCRYPT.reset(token)
    counter = _int(_required(description, "counter"), "counter")
    try:
        payload = obj.encode(counter)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DescriptionError("payload", f"{type(obj).__name__}: {exc}") from None
    signing = _signing(description, code, cra, payload)
    try:
        if "encrypted_parts" in description:
            signing = _encrypted(signing, description["encrypted_parts"], keys)
        elif pending:
            signing = _encrypt_placeholders(signing, pending, _keys(keys))
        return _seal(signing, description, keys)
    except (KeyError, ValueError) as exc:
        if isinstance(exc, DescriptionError):
            raise
        raise DescriptionError("keys", str(exc).strip("'\"")) from None


def _encrypted(
    signing: GeneralSigning, plaintexts: object, keys: KeyStore | None
) -> GeneralSigning:
    if not isinstance(plaintexts, list):
        raise _fail("encrypted_parts", plaintexts, "a list of hex plaintexts")
    clear = tuple(_hex(p, f"encrypted_parts[{i}]") for i, p in enumerate(plaintexts))
    payload = reencrypt(signing, clear, _keys(keys))
    return dataclasses.replace(signing, payload=payload)


def _encrypt_placeholders(
    signing: GeneralSigning, pending: dict[bytes, bytes], keys: KeyStore
) -> GeneralSigning:
    parts = find_parts(signing)
    if sorted(p.block for p in parts if p.block in pending) != sorted(pending):
        raise DescriptionError("payload", '{"encrypt": …} in a field that is not an encrypted part')
    plaintexts = tuple(pending.get(p.block) for p in parts)
    if None in plaintexts:
        raise DescriptionError("payload", 'every encrypted part needs {"encrypt": …}')
    payload = reencrypt(signing, plaintexts, keys)  # type: ignore[arg-type]
    return dataclasses.replace(signing, payload=payload)


def _keys(keys: KeyStore | None) -> KeyStore:
    if keys is None:
        raise DescriptionError("keys", "this description needs keys")
    return keys


def _default_form(signing: GeneralSigning) -> str:
    if signing.message_code not in CRITICAL_CODES:
        return "mac"
    return "signed+mac" if signing.cra is Cra.COMMAND else "signed"


def _seal(signing: GeneralSigning, description: Mapping[str, Any], keys: KeyStore | None) -> bytes:
    form = description.get("form", _default_form(signing))
    if form not in FORMS:
        raise _fail("form", form, f"one of {', '.join(FORMS)}")
    if form == "precommand-rtds":
        return encode_signed(signing.without_signature_field())
    if form == "precommand":
        return encode_signed(signing)
    if form == "mac":
        return _mac(signing, description, keys)
    if "signature" in description:
        signature = _hex(description["signature"], "signature")
    else:
        signature = crypto.sign(_keys(keys).ds_private(signing.originator), signing.signed_data())
    try:
        signed = signing.with_signature(signature)
    except ValueError as exc:
        raise DescriptionError("signature", str(exc)) from None
    return encode_signed(signed) if form == "signed" else _mac(signed, description, keys)


def _mac(signing: GeneralSigning, description: Mapping[str, Any], keys: KeyStore | None) -> bytes:
    """The MAC'd frame: the description's ``mac`` as is (for a frame whose key pair no store
    holds, e.g. the RTDS PCS01), else under :func:`rig.gbcs.tree.mac_key_pair` from either
    side's private key."""
    if "mac" in description:
        mac = _hex(description["mac"], "mac")
        if len(mac) != crypto.MAC_LENGTH:
            raise _fail("mac", description["mac"], f"{crypto.MAC_LENGTH} bytes of hex")
        return Message(signing, mac).encode()
    a, b = mac_key_pair(signing)
    keys = _keys(keys)
    prefix = crypto.kdf_prefix(pair_secret(keys, a, b))
    return mac_frame(signing.encode(), prefix)


def load_description(path: Path) -> dict[str, Any]:
    """A description from a ``.json`` or ``.toml`` file; DescriptionError names the file."""
    try:
        text = path.read_text()
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        value = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise DescriptionError(str(path), f"cannot read: {exc}") from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise DescriptionError(str(path), f"not valid {path.suffix[1:] or 'JSON'}: {exc}") from None
    if not isinstance(value, dict):
        raise DescriptionError(str(path), "expected a JSON object")
    return value

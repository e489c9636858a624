"""The general answer of an emulated meter to a use case it does not model by hand.

One mechanism for every payload kind (reference/gbcs.md §1.6-1.7), built from the device's object
model (:mod:`firmware_stubs.object_model`) and the RTDS exemplar of the use case
(:mod:`firmware_stubs.exemplars`, **[ASSUMED]** values):

* **DLMS** (ESME, CHF): one ACCESS-Response entry per request entry, in order. A GET returns the
  model's value, else the exemplar's, else ``object-undefined``; a profile buffer read with
  selective access only the entries selected (:mod:`firmware_stubs.selective`); a SET stores
  the value and succeeds (``read-write-denied`` for an attribute computed from state); an
  ACTION the stub does not model answers as the exemplar does (success), its effect not
  modelled [ASSUMED], with the protection parameters of a protected read renamed to this
  transaction.
* **GBZ** (GSME, GPF): per command component, by ZCL sequence number: Read Attributes -> Read
  Attributes Response from the model, in the order asked, encrypted where the exemplar's is;
  Write Attributes -> the values stored, Write Attributes Response success; any other command ->
  the exemplar's response components of that sequence number, else a Default Response success.
* **ASN.1** (CS02*, CS03/CS04, CS06, CS07, GCS28 …): the exemplar's response.

The answer is a payload in clear form: each encrypted part a placeholder carrying its plaintext
(:func:`~firmware_stubs.exemplars.placeholder`), sealed by the device with its own keys.
"""

from __future__ import annotations

from collections.abc import Callable

from firmware_stubs.exemplars import Exemplar, placeholder, placeholder_plaintext
from firmware_stubs.object_model import SET, CosemKey, CosemModel, ZclKey, ZclModel
from firmware_stubs.selective import select
from rig.gbcs.codes import MESSAGE_CODE_TABLE
from rig.gbcs.cosem.payload import CosemResult, DlmsRequest, DlmsResponse
from rig.gbcs.crypto import ENCRYPTED_PART_HEADER
from rig.gbcs.dlms import AccessKind, Data, Tag
from rig.gbcs.dlms_usecases import ProtectionParameters
from rig.gbcs.errors import DecodeError
from rig.gbcs.gbz import (
    AttributeRecord,
    DefaultResponse,
    Gbz,
    GbzComponent,
    ZclFrame,
    ZclValue,
    decode_attribute_records,
    decode_gbz,
    decode_read_attributes,
    read_zcl_value,
)
from rig.gbcs.wire import Reader

#: DLMS data-access-results (IEC 62056-5-3): read-write-denied, object-undefined.
READ_WRITE_DENIED, OBJECT_UNDEFINED = 3, 4
_GET_KINDS = (AccessKind.GET, AccessKind.GET_WITH_SELECTION)
_SET_KINDS = (AccessKind.SET, AccessKind.SET_WITH_SELECTION)
#: ZCL general commands (ZCL 2.5): read / write attributes and their responses, default response.
_READ, _READ_RESPONSE, _WRITE, _WRITE_RESPONSE, _DEFAULT = 0x00, 0x01, 0x02, 0x04, 0x0B
#: Frame control of a response: server-to-client, default response disabled; its direction bit.
_RESPONSE_FC, _DIRECTION = 0x18, 0x08
_SUCCESS = 0x00

Note = Callable[[str], None]
#: Where a SET's value goes: (key, value, provenance) -> stored (False: refused).
CosemStore = Callable[[CosemKey, Data, str], bool]
#: Where a Write Attributes record goes: (component, key, ZCL type, value, provenance).
ZclStore = Callable[[GbzComponent, ZclKey, int, ZclValue, str], bool]


# -- DLMS ------------------------------------------------------------------------------------


def _renamed(data: Data, protection: ProtectionParameters) -> Data:
    """``data`` with every protection-parameters array that precedes an encrypted part replaced
    by ``protection`` (the transaction of this response, §1.4)."""
    items = data.value
    if data.tag not in (Tag.STRUCTURE, Tag.ARRAY) or not isinstance(items, tuple):
        return data
    out = []
    for i, item in enumerate(items):
        following = items[i + 1] if i + 1 < len(items) else None
        if (
            item.tag is Tag.ARRAY
            and following is not None
            and following.tag is Tag.OCTET_STRING
            and isinstance(following.value, bytes)
            and following.value.startswith(ENCRYPTED_PART_HEADER)
        ):
            out.append(protection.to_data())
        else:
            out.append(_renamed(item, protection))
    return Data(data.tag, tuple(out))


def _exemplar_results(ex: Exemplar | None, request: DlmsRequest) -> tuple[CosemResult, ...]:
    """The exemplar's entries, if it answers a request of the same members."""
    if ex is None or ex.response[:1] != b"\xda":
        return ()
    try:
        response = DlmsResponse.decode(request.message_code, ex.response)
    except DecodeError:
        return ()
    return response.results if len(response.results) == len(request.accesses) else ()


def dlms_answer(
    model: CosemModel,
    request: DlmsRequest,
    ex: Exemplar | None,
    protection: ProtectionParameters,
    store: CosemStore | None = None,
) -> DlmsResponse:
    """The ACCESS-Response to ``request`` (see the module docstring); a SET goes to ``store``
    (default: the model; a future-dated command's are held, firmware_stubs.future_dated)."""
    store = store or model.set
    examples = _exemplar_results(ex, request)
    results = []
    for i, access in enumerate(request.accesses):
        s = access.spec
        member = (s.kind, s.class_id, s.obis, s.index)
        key = (s.class_id, s.obis, s.index)
        example = examples[i] if examples else None
        if s.kind in _GET_KINDS:
            value = model.get(key)
            own = example is not None and example.result == 0
            if own and (value is None or model.from_exemplar(key)):
                value = example.to_data()  # type: ignore[union-attr]
            if value is not None and s.selection is not None and key[::2] == (7, 2):
                value = select(value, s.selection, model.get((7, s.obis, 3)))
            result = _SUCCESS if value is not None else OBJECT_UNDEFINED
            entry = CosemResult(value or Data.null(), AccessKind.GET, result, member)
        elif s.kind in _SET_KINDS:
            source = f"{SET} by {MESSAGE_CODE_TABLE[request.message_code].name}"
            result = _SUCCESS if store(key, access.to_data(), source) else READ_WRITE_DENIED
            entry = CosemResult(Data.null(), AccessKind.SET, result, member)
        elif example is not None:
            data = _renamed(example.to_data(), protection)
            entry = CosemResult(data, AccessKind.ACTION, example.result, member)
        else:
            entry = CosemResult(Data.null(), AccessKind.ACTION, _SUCCESS, member)
        results.append(entry)
    return DlmsResponse(request.message_code, tuple(results))


# -- GBZ -------------------------------------------------------------------------------------


def _write(store: ZclStore, component: GbzComponent, source: str) -> None:
    """Store every record of a Write Attributes payload: id (LE), type, value."""
    reader = Reader(component.frame.payload)
    while reader.remaining:
        attribute = int.from_bytes(reader.take(2, "attribute id"), "little")
        data_type = reader.byte("attribute data type")
        value = read_zcl_value(reader, data_type)
        store(component, (component.cluster, attribute), data_type, value, source)


def _default_response(component: GbzComponent) -> GbzComponent:
    """A Default Response success to a command, in the other direction."""
    frame = component.frame
    control = (_RESPONSE_FC & ~_DIRECTION) | (~frame.frame_control & _DIRECTION)
    body = DefaultResponse(frame.command, _SUCCESS).encode()
    return GbzComponent(component.cluster, ZclFrame(control, frame.sequence, _DEFAULT, body))


def _template_records(template: GbzComponent | None) -> dict[int, AttributeRecord]:
    """The exemplar's own records of a Read Attributes Response, by attribute."""
    if template is None or template.frame.command != _READ_RESPONSE:
        return {}
    payload = template.frame.payload
    if template.encrypted:
        payload = placeholder_plaintext(payload)
    try:
        return {r.attribute: r for r in decode_attribute_records(payload) if r.status == 0}
    except DecodeError:
        return {}


def _read_response(
    model: ZclModel, component: GbzComponent, template: GbzComponent | None
) -> GbzComponent:
    """Read Attributes Response from the model; framed (and encrypted) as the exemplar's."""
    frame = component.frame
    own = _template_records(template)
    records = (
        own[a]
        if a in own and model.from_exemplar((component.cluster, a))
        else model.record((component.cluster, a))
        for a in decode_read_attributes(frame.payload)
    )
    body = b"".join(r.encode() for r in records)
    if template is None:
        return GbzComponent(component.cluster, ZclFrame(_RESPONSE_FC, frame.sequence, 1, body))
    encrypted = template.encrypted
    out = ZclFrame(
        template.frame.frame_control,
        frame.sequence,
        _READ_RESPONSE,
        placeholder(body) if encrypted else body,
    )
    return GbzComponent(
        component.cluster,
        out,
        encrypted,
        template.from_date_time,
        template.additional_header_control,
        template.additional_frame_counter,
    )


def gbz_answer(
    model: ZclModel,
    payload: bytes,
    ex: Exemplar | None,
    use_case: str,
    store: ZclStore | None = None,
) -> Gbz:
    """The GBZ response to a GBZ command (see the module docstring); DecodeError if malformed.
    A written value goes to ``store`` (default: the model)."""

    def into_model(
        _component: GbzComponent, key: ZclKey, data_type: int, value: ZclValue, source: str
    ) -> bool:
        return model.set(key, data_type, value, source)

    store = store or into_model
    examples: dict[int, list[GbzComponent]] = {}
    if ex is not None and ex.response[:2] == payload[:2]:
        for c in decode_gbz(ex.response).components:
            examples.setdefault(c.frame.sequence, []).append(c)
    out: list[GbzComponent] = []
    for component in decode_gbz(payload).components:
        frame = component.frame
        templates = examples.get(frame.sequence, [])
        general = not frame.cluster_specific
        if general and frame.command == _READ:
            out.append(_read_response(model, component, templates[0] if templates else None))
            continue
        if general and frame.command == _WRITE:
            _write(store, component, f"{SET} by {use_case}")
            body = bytes([_SUCCESS])
            response = ZclFrame(_RESPONSE_FC, frame.sequence, _WRITE_RESPONSE, body)
            out.append(GbzComponent(component.cluster, response))
            continue
        out.extend(templates or [_default_response(component)])
    return Gbz(tuple(out))

"""The DSP's front door for DUIS over HTTP: the checks ``rig replay`` runs (docs/duis.md "DSP
access control") plus the XML signature and the web service's URL, and the DSP's signed answers.

:meth:`Gate.read` is stateless (parse, schema, signature: run off the loop); :meth:`Gate.admit`
keeps the anti-replay counters and the Transform Service's pre-commands (run on the loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rig.config.bench import Bench
from rig.config.duis import default_keys
from rig.duis.codes import Code, DuisError, ResponseCode, RigCode
from rig.duis.dsig import CertificateStore, Signer, sign, signer_eui, verify
from rig.duis.messages import (
    Content,
    build_response,
    parse_request,
    parse_xml,
    response_to,
)
from rig.duis.request import ServiceRequest, SignedPreCommand
from rig.duis.transform import command_signing, to_gbcs
from rig.gbcs.errors import GbcsError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import GeneralSigning, decode, encode_signed
from rig.live.replay import bench_access_control

#: The three DCC Boxed web services and the command variants each takes (domain.md §7.2: CV
#: 1, 3, 5, 7 Send Command; 4 Transform; 2, 6, 8 Non-Device). Another CV there is E13.
SERVICES: dict[str, frozenset[int]] = {
    "serviceS": frozenset({1, 3, 5, 7}),
    "serviceT": frozenset({4}),
    "serviceD": frozenset({2, 6, 8}),
}

#: The HTTP status of a refusal the reference names no DUIS code for (docs/dcc-boxed.md)
#: [ASSUMED]: the request is bad (400), not authenticated (403) or a replay (409).
HTTP_STATUS: dict[Code, int] = {
    RigCode.BAD_SIGNATURE: 403,
    RigCode.COUNTER_NOT_INCREASING: 409,
}


class ServeError(ValueError):
    """``rig serve`` cannot start: one line naming the file or folder at fault."""


def dsp_signer(keys: Path) -> Signer:
    """The DSP's XML-signing key in ``keys``: ``dsp-xml-sign-<EUI>-ds.key`` and its ``.pem``
    (the DCC Boxed signing tool's naming; shared/duis/README.md)."""
    found = sorted(keys.glob("dsp-xml-sign-*-ds.key")) if keys.is_dir() else []
    if not found:
        default = " (the default: $RIG_SHARED_DIR/duis/xml-sign-keys)" * (keys == default_keys())
        raise ServeError(
            f"{keys}{default}: no DSP XML-signing key "
            "(dsp-xml-sign-<EUI>-ds.key and .pem) there: set [duis] keys in the bench file to "
            'such a folder; `rig keys duis OUT` makes a test set (docs/dcc-boxed.md "Keys")'
        )
    try:
        return Signer.load(found[0], found[0].with_suffix(".pem"))
    except (OSError, ValueError) as exc:
        raise ServeError(
            f"{found[0]}: not a usable XML-signing key and certificate: {exc}"
        ) from exc


@dataclass(frozen=True)
class Admitted:
    """A request through the door: the service it came to and, for serviceT, its pre-command."""

    request: ServiceRequest
    service: str
    pre_command: bytes | None = None


class Gate:
    """The checks of one ``rig serve``, over a bench's Users and devices."""

    def __init__(self, bench: Bench) -> None:
        keys = bench.duis.keys
        self.signer = dsp_signer(keys)
        try:
            self.certificates = CertificateStore.from_dirs(keys)
        except ValueError as exc:
            raise ServeError(f"{keys}: a .pem in it is not a certificate: {exc}") from exc
        self.access = bench_access_control(bench)
        #: The pre-command the Transform Service returned, by RequestID, until its CV 5 comes.
        self._transformed: dict[str, GeneralSigning] = {}

    def read(self, xml: bytes) -> tuple[ServiceRequest, Eui64]:
        """Parse, validate and verify: the request and its signer (DuisError if refused)."""
        root = parse_xml(xml)
        request = parse_request(root)
        return request, signer_eui(verify(root, self.certificates))

    def admit(self, request: ServiceRequest, signer: Eui64, service: str) -> Admitted:
        """The web service's URL (E13), then the DSP's access control; for serviceT the
        pre-command, which a later CV 5 with the same RequestID must sign unchanged."""
        rid = str(request.request_id)
        if int(request.command_variant) not in SERVICES[service]:
            raise DuisError(
                ResponseCode.INVALID_REQUEST_TYPE_FOR_URL,
                f"CV {int(request.command_variant)} is not for /api/v1/{service}",
                "sr:CommandVariant",
            )
        transformed = self._transformed.get(rid)
        repeat = transformed is not None and isinstance(request.body, SignedPreCommand)
        if repeat:
            assert transformed is not None and isinstance(request.body, SignedPreCommand)
            _same_command(transformed, request.body)
        self.access.admit(request, signer, repeat=repeat)
        if repeat:
            del self._transformed[rid]
        if service != "serviceT":
            return Admitted(request, service)
        command = to_gbcs(request, self.access.devices)
        signing = command_signing(request, command)
        self._transformed[rid] = signing
        return Admitted(request, service, encode_signed(signing))

    def answer(self, request: ServiceRequest, code: str, content: Content = None) -> bytes:
        """The DSP's signed DUIS response to ``request`` (I99, I0, or a DUIS error code)."""
        return self.sign(build_response(response_to(request, code, datetime.now(UTC), content)))

    def sign(self, xml: bytes) -> bytes:
        return sign(xml, self.signer)


def _same_command(transformed: GeneralSigning, body: SignedPreCommand) -> None:
    """A CV 5 for a transformed RequestID signs that pre-command, not another command."""
    try:
        signed = decode(body.gbcs_payload).signing
    except GbcsError as exc:
        raise DuisError(RigCode.SCHEMA_VIOLATION, str(exc), "sr:GBCSPayload") from exc
    fields = ("counter", "originator", "recipient", "message_code", "payload")
    if any(getattr(signed, f) != getattr(transformed, f) for f in fields):
        raise DuisError(
            RigCode.HEADER_MISMATCH,
            "the signed pre-command is not the one the Transform Service returned for this "
            "RequestID",
            "sr:GBCSPayload",
        )

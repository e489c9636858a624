"""The complete GBCS message-code table, with each use case's message type.

Names and codes: reference/gbcs.md §1.6 (gbcs-parser's 224 codes, Wireshark's CCS05/CCS04 0x0004).
Codes 0x011A-0x012B have no names there; the ones whose RTDS 4.5.0 folder names them (§1.9) carry
that name, the others stay unnamed.

**Message type** (criticality) comes from the GBCS use-case table's "Message Type" column, as
SmartDCC's duis-templates publish it (``src/gbcs-mapping-table.json``, 207 use cases): ``SME.C.C``
critical command (supplier-signed, then MAC'd by the ACB), ``SME.C.NC`` non-critical command,
``SME.A.C`` / ``SME.A.NC`` critical / non-critical alert, ``Variant`` ("Variant Command &
Response": either form, GBCS §13.2 and §13.6), ``HAN`` (a HAN-only message: ``SME.C.PPMID-GSME`` or
"ZSE specified"). A type marked ``*`` is [ASSUMED]: the use case is missing from that table or the
table only says "See GBCS"; :data:`ASSUMPTIONS` gives the reason for each such group. No type is
taken from the test vectors. Each line of :data:`_TABLE` is ``code use-case type description``.
:func:`message_code_name` never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class MessageType(Enum):
    """A use case's message type in the GBCS use-case table (see the module docstring)."""

    CRITICAL_COMMAND = "SME.C.C"
    NON_CRITICAL_COMMAND = "SME.C.NC"
    CRITICAL_ALERT = "SME.A.C"
    NON_CRITICAL_ALERT = "SME.A.NC"
    VARIANT = "Variant"
    HAN_ONLY = "HAN"

    @property
    def critical(self) -> bool | None:
        """Signed (True), MAC'd only (False), or either form (None: ``Variant``)."""
        if self is MessageType.VARIANT:
            return None
        return self in (MessageType.CRITICAL_COMMAND, MessageType.CRITICAL_ALERT)


#: Why each [ASSUMED] type is what it is (the rows marked ``*``).
ASSUMPTIONS: dict[str, str] = {
    "superseded variants (ECS08, ECS30, ECS46c, ECS47, GCS24)": (
        "the table lists only the newer form of the same use case (ECS08a, ECS30a, ECS46a/d, "
        "ECS47a, GCS24a), all SME.C.C"
    ),
    "reads (CCS05/CCS04, CS08, ECS26d/e/i, ECS35f, ECS61a, GCS21d/e, GCS60a)": (
        "read use cases missing from the table; every read in it (ECS26x, ECS35x, ECS61c-e, "
        "GCS21x, ECS52/GCS38, GCS60) is SME.C.NC"
    ),
    "security credentials (CS02b, CS02g)": (
        "the table says 'See GBCS' (§13.3, §13.10); DUIS SRV 6.15.1 Update Security Credentials "
        "is a critical service request (rig/duis/srv_matrix.py), so the command is SME.C.C and "
        "its alert SME.A.C"
    ),
    "CS02f": "'See GBCS §13.9'; the same use case as CS02a (Provide Security Credential Details)",
    "ECS100": "'See GBCS §7.2.9.1', the section of ECS101, ECS102 and ECS200, which are SME.A.C",
    "execution alerts (future-dated 0x00CA-0x00CD, firmware receipt 0x00CE/0x00CF)": (
        "alerts defined outside the use-case table (GBCS §16, not at hand); they report on a "
        "critical command, so they are taken as SME.A.C"
    ),
    "warning alerts (0x00D5, 0x00F0, 0x00F2, CCS08)": (
        "alerts defined outside the use-case table; operational warnings, taken as SME.A.NC"
    ),
    "generic alerts (0x1000, 0x1001)": "Generic Critical / Non-Critical Alert, by name (§1.3)",
}


@dataclass(frozen=True)
class MessageCode:
    """One row of the table."""

    code: int
    name: str
    description: str
    type: MessageType | None  # None: an unnamed code, type unknown
    assumed: bool = False

    @property
    def critical(self) -> bool | None:
        """True if signed, False if MAC'd only, None if either form or unknown."""
        return None if self.type is None else self.type.critical


_TABLE = """
0001 CCS01 SME.C.NC Add Device to CHF device log
0002 CCS02 SME.C.NC Remove device from CHF device log
0003 CCS03 SME.C.NC Restore CHF Device Log
0004 CCS05/CCS04 SME.C.NC* Read CHF device log / Check HAN communications
0007 CS01a SME.C.NC Apply Prepayment Top Up to an ESME
0008 CS02a Variant Provide Security Credentials Details
000A CS02c SME.C.C Issue Security Credentials
000B CS02d SME.C.C Update Device Certificates on Device
000C CS02e Variant Provide Device Certificates from Device
000D CS03A1 SME.C.C Method A Join (Meter)
000E CS03B SME.C.NC Method B Join
000F CS04AC SME.C.C Method A or C Unjoin
0010 CS04B SME.C.NC Method B Unjoin
0012 CS06 SME.C.C Activate Firmware
0013 CS07 SME.C.NC Read Device Join Details
0014 CS10a SME.C.NC Read ZigBee Device Event Log
0015 CS11 SME.C.NC Clear ZigBee Device Event Log
0018 CS14 SME.A.NC Device Addition To / Removal From HAN Whitelist Alerts
0019 ECS01a SME.C.C Set Tariff and Price on ESME
001A ECS02 SME.C.C Set ESME Payment Mode to Credit
001B ECS03 SME.C.C Set ESME Payment Mode to Prepayment
001C ECS04a SME.C.C Adjust Meter Balance on the ESME
001D ECS05 SME.C.C Reset Tariff Block Counter Matrix
001E ECS07 SME.C.C Manage Debt on the ESME
001F ECS08 SME.C.C* Update Prepayment Configuration on ESME
0020 ECS09 SME.C.C Activate Emergency Credit Remotely on ESME
0021 ECS10 SME.C.NC Send Message to ESME
0022 ECS12 SME.C.NC Set Change of Tenancy date on ESME
0023 ECS14 SME.C.NC Disable Privacy PIN Protection on ESME
0024 ECS15a SME.C.NC Clear ESME Event Log
0025 ECS16 SME.C.NC Write Supplier Contact Details on ESME
0026 ECS17a SME.C.NC Read ESME Energy Registers (Export Energy)
0027 ECS17b SME.C.NC Read ESME Energy Registers (Import Energy)
0028 ECS17c SME.C.NC Read ESME Energy Registers (Power)
0029 ECS17d SME.C.NC Read ESME Energy Register (TOU)
002A ECS17e SME.C.NC Read ESME Energy Register (TOU with Blocks)
002B ECS18a SME.C.NC Read Maximum Demand Registers (export)
002C ECS18b SME.C.NC Read Maximum Demand Registers (import)
002D ECS19 SME.C.NC Read ESME Prepayment Registers
002E ECS20a SME.C.NC Read ESME Billing Data Log (payment based debt payments)
002F ECS20b SME.C.NC Read ESME Billing Data Log (change of mode / tariff triggered exc export)
0030 ECS20c SME.C.NC Read ESME Billing Data Log (billing calendar triggered exc export)
0033 ECS21a SME.C.NC Read Electricity Daily Read Log (exc export)
0034 ECS21b SME.C.NC Read Electricity (Prepayment) Daily Read Log
0035 ECS21c SME.C.NC Read Electricity Daily Read Log (export only)
0036 ECS22a SME.C.NC Read Electricity Half Hour Profile Data (export)
0037 ECS22b SME.C.NC Read Electricity Half Hour Profile Data (active import)
0038 ECS22c SME.C.NC Read Electricity Half Hour Profile Data (reactive import)
0039 ECS23 SME.C.NC Read Voltage Operational Data
003A ECS24 SME.C.NC Read ESME Tariff Data
003B ECS26a SME.C.NC Read ESME Configuration Data Prepayment
003C ECS26b SME.C.NC Read ESME Configuration Voltage Data
003D ECS26c SME.C.NC Read ESME Configuration Data Device Information (randomisation)
003E ECS26d SME.C.NC* Read ESME Configuration Data Device Information (Billing Calendar)
003F ECS26e SME.C.NC* Read ESME Configuration Data Device Information (device identity exc MPAN)
0040 ECS26f SME.C.NC Read ESME Configuration Data Device Information (instant. power thresholds)
0042 ECS27 SME.C.NC Read ESME Load Limit Data
0043 ECS28a SME.C.C Set Load Limit Configurations - General Settings
0044 ECS28b SME.C.NC Set Load Limit Configuration Counter Reset
0045 ECS29a SME.C.NC Set Voltage Configurations on ESME
0046 ECS30 SME.C.C* Set Billing Calendar on the ESME
0047 ECS34 SME.C.NC Set Instantaneous Power Threshold Configuration
0048 ECS35a SME.C.NC Read ESME Event Log
0049 ECS35b SME.C.NC Read ESME Security Log
004A ECS37 SME.C.NC Set Maximum Demand Configurable Time Period
004B ECS38 SME.C.C Update Randomised Offset Limit
004C ECS39a SME.C.NC Set MPAN Value on the ESME
004D ECS39b SME.C.NC Set Export MPAN Value on the ESME
004E ECS40 SME.C.NC Read MPAN Value on the ESME
004F ECS42 SME.C.C Remotely Close the Load Switch on the ESME
0050 ECS43 SME.C.C Remotely Open the Load Switch on the ESME
0051 ECS44 SME.C.C Arm Load Switch in ESME
0052 ECS45 SME.C.NC Read Status of Load Switch in the ESME
0053 ECS46a SME.C.C Set HC ALCS or ALCS Labels in ESME
0054 ECS46c SME.C.C* Set HC ALCS and ALCS configuration in ESME (excluding labels)
0055 ECS47 SME.C.C* Set or Reset HC ALCS or ALCS State
0058 ECS50 SME.C.NC Send CIN to ESME
0059 ECS52 SME.C.NC Read ESME/Comms Hub Firmware Version
005A ECS57 SME.C.NC Reset ESME Maximum Demand Registers
005E ECS61c SME.C.NC Read Boost Button Data from ESME
005F ECS62 SME.C.NC Set ALCS and Boost Button Association
0060 ECS66 SME.C.NC Read ESME Daily Consumption Log
0061 ECS68 SME.A.C ESME Critical Sensitive Alert (Billing Data Log)
0062 ECS70 SME.C.C Set Clock on ESME
0067 ECS80 SME.A.C Supply Outage Restore Alert from ESME
0068 ECS81 SME.C.C Set Supply Tamper State on ESME
0069 ECS82 SME.C.NC Read Meter Balance for ESME
006B GCS01a SME.C.C Set Tariff and Price on GSME
006C GCS02 SME.C.C Set GSME Payment Mode to Credit
006D GCS03 SME.C.C Set GSME Payment Mode to Prepayment
006E GCS04 SME.C.C Manage Debt on the GSME
006F GCS05 SME.C.C Update Prepayment Configurations on GSME
0070 GCS06 SME.C.C Activate Emergency Credit Remotely on GSME
0071 GCS07 SME.C.NC Send Message to GSME
0072 GCS09 SME.C.NC Set Change of Tenancy date on GPF
0073 GCS11 SME.C.NC Disable Privacy PIN Protection on GSME
0074 GCS13a SME.C.NC Read GSME Consumption Register
0075 GCS14 SME.C.NC Read GSME Prepayment Registers
0076 GCS15c SME.C.NC Read GSME Billing Data Log (billing calendar triggered)
0077 GCS16a SME.C.NC Read GSME Daily Read Log
0078 GCS17 SME.C.NC Read GSME Profile Data Log
0079 GCS18 SME.C.NC Read Gas Network Data Log
007B GCS21a SME.C.NC Read Gas Configuration Data Device Information
007C GCS23 SME.C.C Set CV and Conversion Factor Value(s) on the GSME
007D GCS24 SME.C.C* Set Uncontrolled Gas Flow Rate and Supply Tamper State on the GSME
007E GCS25 SME.C.C Set Billing Calendar on the GSME
007F GCS28 SME.C.C Set Clock on GSME
0080 GCS31 SME.C.NC Start Network Data Log on GSME
0081 GCS32 SME.C.C Remotely close the valve in the GSME
0082 GCS33 SME.C.NC Read GSME Valve Status
0083 GCS36 SME.C.NC Send CIN to GSME
0084 GCS38 SME.C.NC Read GSME Firmware Version
0085 GCS39 SME.C.C Arm Valve in GSME
0086 GCS40a SME.C.C Adjust Prepayment Mode Meter Balance on the GSME
0087 GCS41 SME.C.NC Set MPRN Value on the GSME
0088 GCS44 SME.C.NC Write Contact Details on GSME
0089 GCS46 SME.C.NC Read MPRN on the GSME
008B GCS53 SME.A.C Push Billing Data Log as an Alert
008C GCS59 SME.C.NC Restore GPF Device Log
008D GCS60 SME.C.NC Read Meter Balance for GSME
0090 PCS02 HAN Activate Emergency Credit on GSME from PPMID
0092 ECS26i SME.C.NC* Read Configuration Data Device Information (CHF identity)
0093 ECS35c SME.C.NC Read CHF Event Log
0094 ECS35d SME.C.NC Read CHF Security Log
0096 GCS16b SME.C.NC Read GSME Daily Read log(s) (prepayment)
0097 CS01b SME.C.NC Apply Prepayment Top Up to a GSME
009B PCS01 HAN Apply Prepayment Top Up to a GSME using PPMID
009D GCS21d SME.C.NC* Read GSME Configuration Data Device Information (BillingCalendar)
009E GCS21e SME.C.NC* Read GSME/GPF Configuration Data Device Information (device identity)
009F GCS21f SME.C.NC Read GSME Tariff Data
00A0 GCS61 SME.C.NC Read Gas Daily Consumption Log
00A1 CS10b SME.C.NC Read ZigBee Device Security Log
00A2 ECS01b SME.C.C Set Price on ESME
00A3 GCS01b SME.C.C Set Price on GSME
00AB CS03A2 SME.C.C Method A Join (non Meter)
00AC ECS25a SME.C.NC Set Alert Behaviours - ESME - Supplier
00AD GCS20 SME.C.NC Set Alert Behaviours - GSME
00AE ECS29b SME.C.NC Set Voltage Configurations on ESME - 3ph
00AF CS03C SME.C.C Method C Join
00B0 ECS25b SME.C.NC Set Alert Behaviours - ESME - Network Operator
00B2 GCS62 SME.A.NC Backup GPF Device Log
00B3 ECS04b SME.C.C Reset Meter Balance on the ESME
00B4 GCS40b SME.C.C Reset Prepayment Mode Meter Balance on the GSME
00B5 GCS21b SME.C.NC Read GSME Configuration Data Prepayment
00B6 GCS13c SME.C.NC Read GSME Register (TOU)
00B7 ECS01c SME.C.C Set Tariff and Price on ESME secondary
00B8 GCS13b SME.C.NC Read GSME Block Counters
00B9 ECS35e SME.C.NC Read ESME Power Event Log
00BA ECS35f SME.C.NC* Read ALCS Event Log
00BB ECS61a SME.C.NC* Read HC ALCS and ALCS Data from ESME
00BC ECS23b SME.C.NC Read Voltage Operational Data - 3 Phase
00BD ECS24b SME.C.NC Read ESME Tariff Data - second element
00BE ECS26j SME.C.NC Read ESME Configuration Data Device Information (Payment Mode)
00BF GCS21j SME.C.NC Read GSME Configuration Data Device Information (Payment Mode)
00C0 GCS40c SME.C.C Adjust Credit Mode Meter Balance on the GSME
00C1 ECS15c SME.C.NC Clear ALCS Event Log
00C2 GCS40d SME.C.C Reset Credit Mode Meter Balance on the GSME
00C3 GCS15b SME.C.NC Read GSME Billing Data Log (change of mode / tariff triggered)
00C4 GCS15d SME.C.NC Read GSME Billing Data Log (payment-based debt payments)
00C5 GCS15e SME.C.NC Read GSME Billing Data Log (prepayment credits)
00C6 ECS26k SME.C.NC Read ESME Configuration Voltage Data - 3 phase
00C7 ECS01d SME.C.C Set Price on ESME secondary
00C9 ECS20d SME.C.NC Read ESME Billing Data Log (prepayment credits)
00CA FDFA SME.A.C* Future Dated Firmware Activation Alert
00CB FDUSC SME.A.C* Future Dated Update Security Credentials Alert
00CC FD-DLMS SME.A.C* Future Dated Execution Of Instruction Alert (DLMS COSEM)
00CD FD-GBZ SME.A.C* Future Dated Execution Of Instruction Alert (GBZ)
00CE FDR-ESME SME.A.C* Firmware Distribution Receipt Alert (ESME)
00CF FDR-GSME SME.A.C* Firmware Distribution Receipt Alert (GSME)
00D1 ECS29c SME.C.NC Set Voltage Configurations on ESME without counter reset
00D2 ECS29d SME.C.NC Set Voltage Configurations on polyphase ESME without counter reset
00D3 ECS29e SME.C.NC Reset RMS Voltage Counters on ESME
00D4 ECS29f SME.C.NC Reset RMS Voltage Counters on polyphase ESME
00D5 FTD SME.A.NC* Failure to Deliver Remote Party Message to ESME Alert
00D7 ECS30a SME.C.C Set Billing Calendar on the ESME - all periodicities
00D8 GCS25a SME.C.C Set Billing Calendar on the GSME - all periodicities
00D9 ECS26l SME.C.NC Read ESME Configuration Data Device Information (Billing Calendar - all)
00DA GCS21k SME.C.NC Read GSME Configuration Data Device Information (BillingCalendar - all)
00DB ECS48 SME.C.C Configure daily resetting of Tariff Block Counter Matrix
00DE ECS08a SME.C.C Update Prepayment Configuration on ESME
00EA ECS25a1 SME.C.NC Set Event Behaviours - ESME to HAN Device - Supplier
00EB ECS25a2 SME.C.NC Set Event Behaviours - ESME audible alarm - Supplier
00EC ECS25a3 SME.C.NC Set Event Behaviours - ESME logging - Supplier
00ED ECS25b3 SME.C.NC Set Event Behaviours - ESME logging - Network Operator
00EE ECS25r1 SME.C.NC Read non-critical event and alert behaviours - ESME - Supplier
00EF ECS25r2 SME.C.NC Read non-critical event and alert behaviours - ESME - Network Operator
00F0 MIIW-ESME SME.A.NC* Meter Integrity Issue Warning Alert - ESME
00F1 GCS20r SME.C.NC Read non-critical event and alert behaviours - GSME - Supplier
00F2 MIIW-GSME SME.A.NC* Meter Integrity Issue Warning Alert - GSME
00F9 ECS26m SME.C.NC Read ESME Configuration Data Device Information (identity, type, tamper state)
00FA ECS26n SME.C.NC Read CHF Configuration Data Device Information (CH identity and type)
00FB GCS21m SME.C.NC Read GSME Configuration Data Device Information (identity, type, tamper state)
00FC GCS24a SME.C.C Set Uncontrolled Gas Flow Rate and Supply Tamper State on the GSME (SMETS4)
00FD ECS35g SME.C.NC Read ALCS Event Log
00FE CCS07 SME.C.NC Read CHF Device Logs
0100 CS02b-1 SME.C.C* Update Security Credentials (rootBySupplier)
0101 CS02b-2 SME.C.C* Update Security Credentials (rootByWanProvider)
0102 CS02b-3 SME.C.C* Update Security Credentials (supplierBySupplier)
0103 CS02b-4 SME.C.C* Update Security Credentials (networkOperatorByNetworkOperator)
0104 CS02b-5 SME.C.C* Update Security Credentials (accessControlBrokerByACB)
0105 CS02b-6 SME.C.C* Update Security Credentials (wanProviderByWanProvider)
0106 CS02b-7 SME.C.C* Update Security Credentials (transCoSByTransCoS)
0107 CS02b-8 SME.C.C* Update Security Credentials (supplierByTransCoS)
0108 CS02b-9 SME.C.C* Update Security Credentials (anyExceptAbnormalRootByRecovery)
0109 CS02b-10 SME.C.C* Update Security Credentials (anyByContingency)
010A DBCH01 SME.C.NC Read CHF Sub GHz Channel
010B DBCH02 SME.C.NC Read CHF Sub GHz Channel Log
010C DBCH03 SME.C.NC Read CHF Sub GHz Configuration
010D DBCH04 SME.C.NC Set CHF Sub GHz Configuration
010E DBCH05 SME.C.NC Request CHF Sub GHz Channel Scan
010F CCS06 SME.C.NC Read CHF device log and check HAN communications
0110 DBCH06 SME.A.NC Limited Duty Cycle Action Taken Sub GHz Alert
0111 DBCH07 SME.A.NC Sub GHz Channel Changed Sub GHz Alert
0112 DBCH08 SME.A.NC Sub GHz Channel Scan Request Assessment Outcome Sub GHz Alert
0113 DBCH09 SME.A.NC Sub GHz Configuration Changed Sub GHz Alert
0114 DBCH10 SME.A.NC Message Discarded Due to Duty Cycle Management Sub GHz Alert
0115 DBCH11 SME.A.NC No More Sub GHz Device Capacity Sub GHz Alert
0116 PECS01 HAN Apply Prepayment Top Up to an ESME using PPMID
0117 PECS02 HAN Activate Emergency Credit on ESME from PPMID
0118 PECS03 HAN Request to Enable ESME Supply from PPMID
0119 HECS01 HAN Request Control of a HAN Connected Auxiliary Load Control Switch from HCALCS
011D ECS61e SME.C.NC Read Auxiliary Controller Operational Data
011E ECS47a SME.C.C Set Auxiliary Controller [n] State
0120 ECS100 SME.A.C* Command not supported by Device
0122 ECS102 SME.A.C Limit APC [n] Level ended or cancelled
0124 CS02g-alert SME.A.C* Update Load Controller Security Credentials alert
0125 CS02g-1 SME.C.C* Update Load Controller Security Credentials (loadControllerByLoadController)
0126 CS02g-2 SME.C.C* Update Load Controller Security Credentials (loadControllerBySupplier)
0128 CCS08 SME.A.NC* Firmware Transfer Alert
0129 CS08 SME.C.NC* Read PPMID/HCALCS Firmware Version
012A GCS60a SME.C.NC* Read Meter Balance for GSME (GCS60a)
1000 GCA SME.A.C* Generic Critical Alert
1001 GNCA SME.A.NC* Generic Non Critical Alert
"""


def _parse(table: str) -> dict[int, MessageCode]:
    types = {t.value: t for t in MessageType}
    rows: dict[int, MessageCode] = {}
    for line in table.strip().splitlines():
        code, name, kind, description = line.split(" ", 3)
        assumed = kind.endswith("*")
        rows[int(code, 16)] = MessageCode(
            int(code, 16), name, description, types[kind.rstrip("*")], assumed
        )
    for number in range(0x011A, 0x012C):
        unnamed = MessageCode(number, f"0x{number:04X}", "unnamed (in RTDS 4.5.0)", None)
        rows.setdefault(number, unnamed)
    return rows


#: Every message code.
MESSAGE_CODE_TABLE: dict[int, MessageCode] = _parse(_TABLE)
#: Use-case id -> message code.
CODE_BY_NAME: dict[str, int] = {row.name: code for code, row in MESSAGE_CODE_TABLE.items()}
#: The codes whose messages are signed (SME.C.C and SME.A.C).
CRITICAL_CODES: frozenset[int] = frozenset(
    code for code, row in MESSAGE_CODE_TABLE.items() if row.critical
)
#: HAN-only messages (PCS01/PCS02, PPMID to GSME): not MAC'd by the ACB but by the two devices'
#: KA keys (``rig.gbcs.tree.mac_key_pair``; docs/gbcs-codec.md "MAC keys of HAN-only messages").
HAN_ONLY_CODES: frozenset[int] = frozenset(
    code for code, row in MESSAGE_CODE_TABLE.items() if row.type is MessageType.HAN_ONLY
)
#: Commands a device may receive signed but without the ACB's MAC header: the security-credential
#: use cases of GBCS §13 (CS02a-CS02g). [ASSUMED] from §13's own signing of these commands (the
#: text is not at hand); every other command without a MAC header is refused.
SIGNATURE_ONLY_COMMANDS: frozenset[int] = frozenset(
    code for code, row in MESSAGE_CODE_TABLE.items() if row.name.startswith("CS02")
)


def message_code_name(code: int) -> str:
    """``"ECS45 Read Status of Load Switch in the ESME"``, or ``"unknown 0xNNNN"``."""
    row = MESSAGE_CODE_TABLE.get(code)
    return f"unknown 0x{code:04X}" if row is None else f"{row.name} {row.description}"

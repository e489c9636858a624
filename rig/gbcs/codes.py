"""The complete GBCS message-code table (reference/gbcs.md §1.6: 224 codes, all 16-bit).

Each line of :data:`_TABLE` is ``code use-case description``; codes 0x011A-0x0127 appear in RTDS
without names (§1.6) and are listed as unnamed. :func:`message_code_name` never raises.
"""

from __future__ import annotations

_TABLE = """
0001 CCS01 Add Device to CHF device log
0002 CCS02 Remove device from CHF device log
0003 CCS03 Restore CHF Device Log
0007 CS01a Apply Prepayment Top Up to an ESME
0008 CS02a Provide Security Credentials Details
000A CS02c Issue Security Credentials
000B CS02d Update Device Certificates on Device
000C CS02e Provide Device Certificates from Device
000D CS03A1 Method A Join (Meter)
000E CS03B Method B Join
000F CS04AC Method A or C Unjoin
0010 CS04B Method B Unjoin
0012 CS06 Activate Firmware
0013 CS07 Read Device Join Details
0014 CS10a Read ZigBee Device Event Log
0015 CS11 Clear ZigBee Device Event Log
0018 CS14 Device Addition To / Removal From HAN Whitelist Alerts
0019 ECS01a Set Tariff and Price on ESME
001A ECS02 Set ESME Payment Mode to Credit
001B ECS03 Set ESME Payment Mode to Prepayment
001C ECS04a Adjust Meter Balance on the ESME
001D ECS05 Reset Tariff Block Counter Matrix
001E ECS07 Manage Debt on the ESME
001F ECS08 Update Prepayment Configuration on ESME
0020 ECS09 Activate Emergency Credit Remotely on ESME
0021 ECS10 Send Message to ESME
0022 ECS12 Set Change of Tenancy date on ESME
0023 ECS14 Disable Privacy PIN Protection on ESME
0024 ECS15a Clear ESME Event Log
0025 ECS16 Write Supplier Contact Details on ESME
0026 ECS17a Read ESME Energy Registers (Export Energy)
0027 ECS17b Read ESME Energy Registers (Import Energy)
0028 ECS17c Read ESME Energy Registers (Power)
0029 ECS17d Read ESME Energy Register (TOU)
002A ECS17e Read ESME Energy Register (TOU with Blocks)
002B ECS18a Read Maximum Demand Registers (export)
002C ECS18b Read Maximum Demand Registers (import)
002D ECS19 Read ESME Prepayment Registers
002E ECS20a Read ESME Billing Data Log (payment based debt payments)
002F ECS20b Read ESME Billing Data Log (change of mode / tariff triggered exc export)
0030 ECS20c Read ESME Billing Data Log (billing calendar triggered exc export)
0033 ECS21a Read Electricity Daily Read Log (exc export)
0034 ECS21b Read Electricity (Prepayment) Daily Read Log
0035 ECS21c Read Electricity Daily Read Log (export only)
0036 ECS22a Read Electricity Half Hour Profile Data (export)
0037 ECS22b Read Electricity Half Hour Profile Data (active import)
0038 ECS22c Read Electricity Half Hour Profile Data (reactive import)
0039 ECS23 Read Voltage Operational Data
003A ECS24 Read ESME Tariff Data
003B ECS26a Read ESME Configuration Data Prepayment
003C ECS26b Read ESME Configuration Voltage Data
003D ECS26c Read ESME Configuration Data Device Information (randomisation)
003E ECS26d Read ESME Configuration Data Device Information (Billing Calendar)
003F ECS26e Read ESME Configuration Data Device Information (device identity exc MPAN)
0040 ECS26f Read ESME Configuration Data Device Information (instantaneous power thresholds)
0042 ECS27 Read ESME Load Limit Data
0043 ECS28a Set Load Limit Configurations - General Settings
0044 ECS28b Set Load Limit Configuration Counter Reset
0045 ECS29a Set Voltage Configurations on ESME
0046 ECS30 Set Billing Calendar on the ESME
0047 ECS34 Set Instantaneous Power Threshold Configuration
0048 ECS35a Read ESME Event Log
0049 ECS35b Read ESME Security Log
004A ECS37 Set Maximum Demand Configurable Time Period
004B ECS38 Update Randomised Offset Limit
004C ECS39a Set MPAN Value on the ESME
004D ECS39b Set Export MPAN Value on the ESME
004E ECS40 Read MPAN Value on the ESME
004F ECS42 Remotely Close the Load Switch on the ESME
0050 ECS43 Remotely Open the Load Switch on the ESME
0051 ECS44 Arm Load Switch in ESME
0052 ECS45 Read Status of Load Switch in the ESME
0053 ECS46a Set HC ALCS or ALCS Labels in ESME
0054 ECS46c Set HC ALCS and ALCS configuration in ESME (excluding labels)
0055 ECS47 Set or Reset HC ALCS or ALCS State
0058 ECS50 Send CIN to ESME
0059 ECS52 Read ESME/Comms Hub Firmware Version
005A ECS57 Reset ESME Maximum Demand Registers
005E ECS61c Read Boost Button Data from ESME
005F ECS62 Set ALCS and Boost Button Association
0060 ECS66 Read ESME Daily Consumption Log
0061 ECS68 ESME Critical Sensitive Alert (Billing Data Log)
0062 ECS70 Set Clock on ESME
0067 ECS80 Supply Outage Restore Alert from ESME
0068 ECS81 Set Supply Tamper State on ESME
0069 ECS82 Read Meter Balance for ESME
006B GCS01a Set Tariff and Price on GSME
006C GCS02 Set GSME Payment Mode to Credit
006D GCS03 Set GSME Payment Mode to Prepayment
006E GCS04 Manage Debt on the GSME
006F GCS05 Update Prepayment Configurations on GSME
0070 GCS06 Activate Emergency Credit Remotely on GSME
0071 GCS07 Send Message to GSME
0072 GCS09 Set Change of Tenancy date on GPF
0073 GCS11 Disable Privacy PIN Protection on GSME
0074 GCS13a Read GSME Consumption Register
0075 GCS14 Read GSME Prepayment Registers
0076 GCS15c Read GSME Billing Data Log (billing calendar triggered)
0077 GCS16a Read GSME Daily Read Log
0078 GCS17 Read GSME Profile Data Log
0079 GCS18 Read Gas Network Data Log
007B GCS21a Read Gas Configuration Data Device Information
007C GCS23 Set CV and Conversion Factor Value(s) on the GSME
007D GCS24 Set Uncontrolled Gas Flow Rate and Supply Tamper State on the GSME
007E GCS25 Set Billing Calendar on the GSME
007F GCS28 Set Clock on GSME
0080 GCS31 Start Network Data Log on GSME
0081 GCS32 Remotely close the valve in the GSME
0082 GCS33 Read GSME Valve Status
0083 GCS36 Send CIN to GSME
0084 GCS38 Read GSME Firmware Version
0085 GCS39 Arm Valve in GSME
0086 GCS40a Adjust Prepayment Mode Meter Balance on the GSME
0087 GCS41 Set MPRN Value on the GSME
0088 GCS44 Write Contact Details on GSME
0089 GCS46 Read MPRN on the GSME
008B GCS53 Push Billing Data Log as an Alert
008C GCS59 Restore GPF Device Log
008D GCS60 Read Meter Balance for GSME
0090 PCS02 Activate Emergency Credit on GSME from PPMID
0092 ECS26i Read Configuration Data Device Information (CHF identity)
0093 ECS35c Read CHF Event Log
0094 ECS35d Read CHF Security Log
0096 GCS16b Read GSME Daily Read log(s) (prepayment)
0097 CS01b Apply Prepayment Top Up to a GSME
009B PCS01 Apply Prepayment Top Up to a GSME using PPMID
009D GCS21d Read GSME Configuration Data Device Information (BillingCalendar)
009E GCS21e Read GSME/GPF Configuration Data Device Information (device identity)
009F GCS21f Read GSME Tariff Data
00A0 GCS61 Read Gas Daily Consumption Log
00A1 CS10b Read ZigBee Device Security Log
00A2 ECS01b Set Price on ESME
00A3 GCS01b Set Price on GSME
00AB CS03A2 Method A Join (non Meter)
00AC ECS25a Set Alert Behaviours - ESME - Supplier
00AD GCS20 Set Alert Behaviours - GSME
00AE ECS29b Set Voltage Configurations on ESME - 3ph
00AF CS03C Method C Join
00B0 ECS25b Set Alert Behaviours - ESME - Network Operator
00B2 GCS62 Backup GPF Device Log
00B3 ECS04b Reset Meter Balance on the ESME
00B4 GCS40b Reset Prepayment Mode Meter Balance on the GSME
00B5 GCS21b Read GSME Configuration Data Prepayment
00B6 GCS13c Read GSME Register (TOU)
00B7 ECS01c Set Tariff and Price on ESME secondary
00B8 GCS13b Read GSME Block Counters
00B9 ECS35e Read ESME Power Event Log
00BA ECS35f Read ALCS Event Log
00BB ECS61a Read HC ALCS and ALCS Data from ESME
00BC ECS23b Read Voltage Operational Data - 3 Phase
00BD ECS24b Read ESME Tariff Data - second element
00BE ECS26j Read ESME Configuration Data Device Information (Payment Mode)
00BF GCS21j Read GSME Configuration Data Device Information (Payment Mode)
00C0 GCS40c Adjust Credit Mode Meter Balance on the GSME
00C1 ECS15c Clear ALCS Event Log
00C2 GCS40d Reset Credit Mode Meter Balance on the GSME
00C3 GCS15b Read GSME Billing Data Log (change of mode / tariff triggered)
00C4 GCS15d Read GSME Billing Data Log (payment-based debt payments)
00C5 GCS15e Read GSME Billing Data Log (prepayment credits)
00C6 ECS26k Read ESME Configuration Voltage Data - 3 phase
00C7 ECS01d Set Price on ESME secondary
00C9 ECS20d Read ESME Billing Data Log (prepayment credits)
00CA FDFA Future Dated Firmware Activation Alert
00CB FDUSC Future Dated Update Security Credentials Alert
00CC FD-DLMS Future Dated Execution Of Instruction Alert (DLMS COSEM)
00CD FD-GBZ Future Dated Execution Of Instruction Alert (GBZ)
00CE FDR-ESME Firmware Distribution Receipt Alert (ESME)
00CF FDR-GSME Firmware Distribution Receipt Alert (GSME)
00D1 ECS29c Set Voltage Configurations on ESME without counter reset
00D2 ECS29d Set Voltage Configurations on polyphase ESME without counter reset
00D3 ECS29e Reset RMS Voltage Counters on ESME
00D4 ECS29f Reset RMS Voltage Counters on polyphase ESME
00D5 FTD Failure to Deliver Remote Party Message to ESME Alert
00D7 ECS30a Set Billing Calendar on the ESME - all periodicities
00D8 GCS25a Set Billing Calendar on the GSME - all periodicities
00D9 ECS26l Read ESME Configuration Data Device Information (Billing Calendar - all periodicities)
00DA GCS21k Read GSME Configuration Data Device Information (BillingCalendar - all periodicities)
00DB ECS48 Configure daily resetting of Tariff Block Counter Matrix
00DE ECS08a Update Prepayment Configuration on ESME
00EA ECS25a1 Set Event Behaviours - ESME to HAN Device - Supplier
00EB ECS25a2 Set Event Behaviours - ESME audible alarm - Supplier
00EC ECS25a3 Set Event Behaviours - ESME logging - Supplier
00ED ECS25b3 Set Event Behaviours - ESME logging - Network Operator
00EE ECS25r1 Read non-critical event and alert behaviours - ESME - Supplier
00EF ECS25r2 Read non-critical event and alert behaviours - ESME - Network Operator
00F0 MIIW-ESME Meter Integrity Issue Warning Alert - ESME
00F1 GCS20r Read non-critical event and alert behaviours - GSME - Supplier
00F2 MIIW-GSME Meter Integrity Issue Warning Alert - GSME
00F9 ECS26m Read ESME Configuration Data Device Information (identity, type, tamper state)
00FA ECS26n Read CHF Configuration Data Device Information (CH identity and type)
00FB GCS21m Read GSME Configuration Data Device Information (identity, type, tamper state)
00FC GCS24a Set Uncontrolled Gas Flow Rate and Supply Tamper State on the GSME (SMETS4)
00FD ECS35g Read ALCS Event Log
00FE CCS07 Read CHF Device Logs
0100 CS02b-1 Update Security Credentials (rootBySupplier)
0101 CS02b-2 Update Security Credentials (rootByWanProvider)
0102 CS02b-3 Update Security Credentials (supplierBySupplier)
0103 CS02b-4 Update Security Credentials (networkOperatorByNetworkOperator)
0104 CS02b-5 Update Security Credentials (accessControlBrokerByACB)
0105 CS02b-6 Update Security Credentials (wanProviderByWanProvider)
0106 CS02b-7 Update Security Credentials (transCoSByTransCoS)
0107 CS02b-8 Update Security Credentials (supplierByTransCoS)
0108 CS02b-9 Update Security Credentials (anyExceptAbnormalRootByRecovery)
0109 CS02b-10 Update Security Credentials (anyByContingency)
010A DBCH01 Read CHF Sub GHz Channel
010B DBCH02 Read CHF Sub GHz Channel Log
010C DBCH03 Read CHF Sub GHz Configuration
010D DBCH04 Set CHF Sub GHz Configuration
010E DBCH05 Request CHF Sub GHz Channel Scan
010F CCS06 Read CHF device log and check HAN communications
0110 DBCH06 Limited Duty Cycle Action Taken Sub GHz Alert
0111 DBCH07 Sub GHz Channel Changed Sub GHz Alert
0112 DBCH08 Sub GHz Channel Scan Request Assessment Outcome Sub GHz Alert
0113 DBCH09 Sub GHz Configuration Changed Sub GHz Alert
0114 DBCH10 Message Discarded Due to Duty Cycle Management Sub GHz Alert
0115 DBCH11 No More Sub GHz Device Capacity Sub GHz Alert
0116 PECS01 Apply Prepayment Top Up to an ESME using PPMID
0117 PECS02 Activate Emergency Credit on ESME from PPMID
0118 PECS03 Request to Enable ESME Supply from PPMID
0119 HECS01 Request Control of a HAN Connected Auxiliary Load Control Switch from HCALCS
0128 CCS08 Firmware Transfer Alert
0129 CS08 Read PPMID/HCALCS Firmware Version
1000 GCA Generic Critical Alert
1001 GNCA Generic Non Critical Alert
"""


def _parse(table: str) -> dict[int, tuple[str, str]]:
    rows: dict[int, tuple[str, str]] = {}
    for line in table.strip().splitlines():
        code, name, description = line.split(" ", 2)
        rows[int(code, 16)] = (name, description)
    for code in range(0x011A, 0x0128):
        rows.setdefault(code, (f"0x{code:04X}", "unnamed (seen in RTDS 4.5.0)"))
    return rows


#: Every message code: (use-case id, description).
MESSAGE_CODE_TABLE: dict[int, tuple[str, str]] = _parse(_TABLE)
#: Use-case id -> message code.
CODE_BY_NAME: dict[str, int] = {name: code for code, (name, _) in MESSAGE_CODE_TABLE.items()}


def message_code_name(code: int) -> str:
    """``"ECS45 Read Status of Load Switch in the ESME"``, or ``"unknown 0xNNNN"``."""
    row = MESSAGE_CODE_TABLE.get(code)
    return f"unknown 0x{code:04X}" if row is None else f"{row[0]} {row[1]}"

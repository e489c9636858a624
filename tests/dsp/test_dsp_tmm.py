"""The TMM document: default values, the SECMP0028 sort key, and validation errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rig.dsp.tmm import (
    KNOWN_SRVS,
    NUM_CLASSES,
    CapRule,
    Mode,
    ReleasePolicy,
    ThrottleAction,
    TmmError,
    TrafficManagementDocument,
    default_tmm,
    default_tmm_path,
    load_tmm,
    shipped_tmm_path,
)

VALID = """\
version = "test-1"
default_level = 4
mode_order = ["on_demand", "future_dated", "scheduled"]
priority_band_1 = ["2.2"]

[levels]
"2.2" = 1
"7.2" = 3

[provenance]
mode_order = "[ASSUMED] test"

[provenance.levels]
"7.2" = "[ASSUMED] test"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tmm.toml"
    path.write_text(text)
    return path


# -- the packaged default --------------------------------------------------------------------


INSTALL_AND_COMMISSION = {"8.11", "6.15.1", "6.15.2"}


def test_default_levels_and_band_as_the_seeds_say() -> None:
    """[SEED 000] names only SRV 2.2 for Priority Band 1; [SEED 001] level 2 (engineer on site)
    holds the install and commission SRVs, so DP100's release order shows them by default."""
    tmm = default_tmm()
    assert tmm.level_of("2.2") == 1
    assert tmm.level_of("7.4") == 1
    assert tmm.priority_band_1 == {"2.2"}
    assert all(tmm.level_of(srv) == 2 for srv in INSTALL_AND_COMMISSION)
    assert all(
        tmm.level_of(srv) == 4 for srv in KNOWN_SRVS - {"2.2", "7.4"} - INSTALL_AND_COMMISSION
    )
    assert tmm.mode_order == (Mode.ON_DEMAND, Mode.FUTURE_DATED, Mode.SCHEDULED)


def test_the_band1_with_7_4_variant_is_shipped_with_its_provenance() -> None:
    path = shipped_tmm_path("band1-with-7.4")
    assert path is not None
    variant = load_tmm(path)
    assert variant.priority_band_1 == {"2.2", "7.4"}
    assert "[SEED 001]" in variant.provenance["priority_band_1"]
    assert dict(variant.levels) == dict(default_tmm().levels)
    assert shipped_tmm_path("no-such") is None


def test_scheduled_ahead_of_on_demand_is_refused_unless_overridden(tmp_path: Path) -> None:
    text = default_tmm_path().read_text()
    reordered = text.replace(
        'mode_order = ["on_demand", "future_dated", "scheduled"]',
        'mode_order = ["scheduled", "on_demand", "future_dated"]',
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(reordered)
    with pytest.raises(TmmError, match=r"bad\.toml: mode_order = .*scheduled ahead of on_demand"):
        load_tmm(bad)
    bad.write_text(f'mode_order_override = "what-if study of a reversed order"\n{reordered}')
    assert load_tmm(bad).mode_order[0] is Mode.SCHEDULED


def test_default_every_value_has_a_labelled_source() -> None:
    tmm = default_tmm()
    expected = {"version", "default_level", "mode_order", "priority_band_1"}
    expected |= {f'levels."{srv}"' for srv in tmm.levels}
    expected |= {f"alert_storm.{f}" for f in ("window_s", "threshold", "forward_period_s")}
    expected |= {"alert_storm.excluded_codes", "outage_release.policy", "northbound.order"}
    assert set(tmm.provenance) == expected
    for note in tmm.provenance.values():
        assert "[SEED 00" in note or "[ASSUMED]" in note or "[CONFIRMED]" in note
    assert "future_dated" in tmm.provenance["mode_order"]
    assert "[ASSUMED]" in tmm.provenance["mode_order"]


def test_default_is_shared_and_immutable() -> None:
    tmm = default_tmm()
    assert default_tmm() is tmm
    with pytest.raises(dataclasses.FrozenInstanceError):
        tmm.default_level = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        tmm.levels["4.1.1"] = 1  # type: ignore[index]


# -- the sort key (SECMP0028) ----------------------------------------------------------------


def test_rank_band_then_mode_then_level() -> None:
    tmm = TrafficManagementDocument(
        version="t", levels={"2.2": 1, "7.4": 1, "7.2": 2}, priority_band_1=frozenset({"2.2"})
    )
    ordered = [
        ("2.2", Mode.ON_DEMAND),  # Priority Band 1 On Demand
        ("7.4", Mode.ON_DEMAND),  # On Demand, level 1
        ("7.2", Mode.ON_DEMAND),  # On Demand, level 2
        ("4.1.1", Mode.ON_DEMAND),  # On Demand, default level 4
        ("7.4", Mode.FUTURE_DATED),
        ("4.1.1", Mode.FUTURE_DATED),
        ("7.4", Mode.SCHEDULED),  # level 1, but Scheduled: behind every On Demand
        ("4.6.1", Mode.SCHEDULED),
    ]
    ranks = [tmm.rank(srv, mode) for srv, mode in ordered]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == len(ranks)


def test_band_1_applies_to_on_demand_only() -> None:
    tmm = TrafficManagementDocument(version="t", levels={}, priority_band_1=frozenset({"2.2"}))
    assert tmm.rank("2.2", Mode.SCHEDULED) == tmm.rank("4.6.1", Mode.SCHEDULED)


def test_mode_order_is_configurable() -> None:
    tmm = TrafficManagementDocument(
        version="t",
        levels={},
        mode_order=(Mode.FUTURE_DATED, Mode.ON_DEMAND, Mode.SCHEDULED),
    )
    assert tmm.rank("4.1.1", Mode.FUTURE_DATED) < tmm.rank("4.1.1", Mode.ON_DEMAND)


# -- loading and validation ------------------------------------------------------------------


def test_load_valid(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    tmm = load_tmm(path)
    assert tmm.version == "test-1"
    assert tmm.levels == {"2.2": 1, "7.2": 3}
    assert tmm.priority_band_1 == {"2.2"}
    assert tmm.source == str(path)
    assert tmm.provenance == {"mode_order": "[ASSUMED] test", 'levels."7.2"': "[ASSUMED] test"}


BAD = [
    # (name, replace this, with this, field path in the message, bad value in the message)
    ("unknown SRV level", '"7.2" = 3\n', '"7.2" = 3\n"9.99" = 3\n', 'levels."9.99"', "'9.99'"),
    ("unknown SRV band", 'priority_band_1 = ["2.2"]', 'priority_band_1 = ["2.2", "2.22"]',
     "priority_band_1", "'2.22'"),
    ("level 0", '"7.2" = 3\n', '"7.2" = 0\n', 'levels."7.2"', "0"),
    ("level 5", '"7.2" = 3\n', '"7.2" = 5\n', 'levels."7.2"', "5"),
    ("default level 5", "default_level = 4", "default_level = 5", "default_level", "5"),
    ("level not int", '"7.2" = 3\n', '"7.2" = "3"\n', 'levels."7.2"', "'3'"),
    ("level bool", '"7.2" = 3\n', '"7.2" = true\n', 'levels."7.2"', "True"),
    ("bad mode", '"future_dated"', '"future"', "mode_order[1]", "'future'"),
    ("mode twice", '"future_dated"', '"on_demand"', "mode_order",
     "['on_demand', 'on_demand', 'scheduled']"),
    ("mode missing", '"future_dated", ', "", "mode_order", "['on_demand', 'scheduled']"),
    ("missing version", 'version = "test-1"\n', "", "version", "None"),
    ("missing levels", '[levels]\n"2.2" = 1\n"7.2" = 3\n', "", "levels", "None"),
    ("version not string", 'version = "test-1"', "version = 1", "version", "1"),
    ("empty version", 'version = "test-1"', 'version = ""', "version", "''"),
    ("band not array", 'priority_band_1 = ["2.2"]', 'priority_band_1 = "2.2"',
     "priority_band_1", "'2.2'"),
    ("band item not string", 'priority_band_1 = ["2.2"]', "priority_band_1 = [2.2]",
     "priority_band_1[0]", "2.2"),
    ("modes not array", 'mode_order = ["on_demand", "future_dated", "scheduled"]',
     'mode_order = "on_demand"', "mode_order", "'on_demand'"),
    ("unknown field", "default_level = 4", "default_level = 4\nprority = 1", "prority", "1"),
    ("provenance for no level", '"7.2" = "[ASSUMED] test"', '"7.1" = "[ASSUMED] test"',
     'provenance.levels."7.1"', "'[ASSUMED] test'"),
    ("provenance not string", 'mode_order = "[ASSUMED] test"', "mode_order = 3",
     "provenance.mode_order", "3"),
    ("provenance unknown field", 'mode_order = "[ASSUMED] test"', 'modes = "x"',
     "provenance.modes", "'x'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "path", "value"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_load_errors_name_file_field_and_value(
    tmp_path: Path, old: str, new: str, path: str, value: str
) -> None:
    assert old in VALID
    file = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(TmmError) as info:
        load_tmm(file)
    assert str(info.value).startswith(f"{file}: {path} = {value}: ")
    assert (info.value.source, info.value.path) == (str(file), path)


def test_tmm_error_is_a_value_error() -> None:
    assert issubclass(TmmError, ValueError)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    file = write(tmp_path, "version = \n")
    with pytest.raises(TmmError, match=f"^{file}: <document> = None: not valid TOML"):
        load_tmm(file)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(TmmError, match="cannot read"):
        load_tmm(tmp_path / "absent.toml")


def test_constructing_in_code_validates_too() -> None:
    with pytest.raises(TmmError, match=r'^<in memory>: levels."2.2" = 0: level must be 1..4'):
        TrafficManagementDocument(version="t", levels={"2.2": 0})


# -- the traffic-management sections (SECMP0067, SECMP0062, DP100) ---------------------------

SECTIONS = """
[throttling]
capacity = 2000
activate_at = 0.9
deactivate_at = 0.8
window_s = 10.0
allocation_pool = 0.8
cap_rule = "allocation"
action = "hold"
hold_limit = 100
burst_s = 1.0
response_code = "RIG-THROTTLED"

[alert_storm]
window_s = 60.0
threshold = 5
forward_period_s = 300.0
excluded_codes = [0x8F75]

[outage_release]
policy = "prioritised"
release_rate = 50.0

[provenance.throttling]
capacity = "[ASSUMED] a"
activate_at = "[ASSUMED] b"
deactivate_at = "[ASSUMED] c"
window_s = "[ASSUMED] d"
allocation_pool = "[ASSUMED] e"
cap_rule = "[ASSUMED] f"
action = "[ASSUMED] g"
hold_limit = "[ASSUMED] h"
burst_s = "[ASSUMED] i"
response_code = "[ASSUMED] j"

[provenance.alert_storm]
window_s = "[ASSUMED] k"
threshold = "[ASSUMED] l"
forward_period_s = "[ASSUMED] m"
excluded_codes = "[CONFIRMED] n"

[provenance.outage_release]
policy = "[SEED 004] o"
release_rate = "[ASSUMED] p"
"""
FULL = VALID + SECTIONS


def test_load_sections(tmp_path: Path) -> None:
    tmm = load_tmm(write(tmp_path, FULL))
    assert tmm.throttling is not None and tmm.throttling.capacity == 2000
    assert tmm.throttling.cap_rule is CapRule.ALLOCATION
    assert tmm.throttling.action is ThrottleAction.HOLD
    assert tmm.alert_storm is not None and tmm.alert_storm.excluded_codes == {0x8F75}
    assert tmm.outage_release.policy is ReleasePolicy.PRIORITISED
    assert tmm.provenance["throttling.capacity"] == "[ASSUMED] a"
    assert tmm.provenance["outage_release.policy"] == "[SEED 004] o"


def test_sections_are_optional_and_default_to_off(tmp_path: Path) -> None:
    tmm = load_tmm(write(tmp_path, VALID))
    assert tmm.throttling is None and tmm.alert_storm is None
    assert tmm.outage_release.policy is ReleasePolicy.ALL_AT_ONCE


def test_overrides_replace_values_and_record_provenance(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    tmm = load_tmm(path, {"outage_release.policy": "all_at_once", "provenance": "variant 'today'"})
    assert tmm.outage_release.policy is ReleasePolicy.ALL_AT_ONCE
    assert tmm.provenance["outage_release.policy"] == "variant 'today'"
    with pytest.raises(TmmError, match=r"outage_release\.policy = 'sometimes'"):
        load_tmm(path, {"outage_release.policy": "sometimes"})
    with pytest.raises(TmmError, match="no \\[nosuch\\] section"):
        load_tmm(path, {"nosuch.x": 1})


SECTION_BAD = [
    ("negative capacity", "capacity = 2000", "capacity = -5", "throttling.capacity", "-5"),
    ("capacity string", "capacity = 2000", 'capacity = "lots"', "throttling.capacity",
     "'lots'"),
    ("hysteresis inverted", "deactivate_at = 0.8", "deactivate_at = 0.95",
     "throttling.deactivate_at", "0.95"),
    ("cap rule", 'cap_rule = "allocation"', 'cap_rule = "whatever"', "throttling.cap_rule",
     "'whatever'"),
    ("action", 'action = "hold"', 'action = "drop"', "throttling.action", "'drop'"),
    ("DUIS-like code", '"RIG-THROTTLED"', '"E65"', "throttling.response_code", "'E65'"),
    ("missing field", "burst_s = 1.0\n", "", "throttling.burst_s", "None"),
    ("unknown field", "burst_s = 1.0\n", "burst_s = 1.0\nburst = 2\n", "throttling.burst",
     "2"),
    ("missing provenance", 'burst_s = "[ASSUMED] i"\n', "", "provenance.throttling.burst_s",
     "None"),
    ("threshold 0", "threshold = 5", "threshold = 0", "alert_storm.threshold", "0"),
    ("negative window", "window_s = 60.0", "window_s = -60.0", "alert_storm.window_s",
     "-60.0"),
    ("code out of range", "[0x8F75]", "[0x18F75]", "alert_storm.excluded_codes", "102261"),
    ("release policy", 'policy = "prioritised"', 'policy = "later"', "outage_release.policy",
     "'later'"),
    ("release rate 0", "release_rate = 50.0", "release_rate = 0.0",
     "outage_release.release_rate", "0.0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "path", "value"), [b[1:] for b in SECTION_BAD], ids=[b[0] for b in SECTION_BAD]
)
def test_section_errors_name_file_field_and_value(
    tmp_path: Path, old: str, new: str, path: str, value: str
) -> None:
    assert old in SECTIONS
    file = write(tmp_path, VALID + SECTIONS.replace(old, new, 1))
    with pytest.raises(TmmError) as info:
        load_tmm(file)
    assert str(info.value).startswith(f"{file}: {path} = {value}: "), str(info.value)


def test_class_of_orders_like_rank() -> None:
    tmm = load_tmm_default_like()
    pairs = [(srv, mode) for srv in ("2.2", "7.4", "7.2", "4.1.1") for mode in Mode]
    by_rank = sorted(pairs, key=lambda p: tmm.rank(*p))
    by_class = sorted(pairs, key=lambda p: tmm.class_of(*p))
    assert [tmm.rank(*p) for p in by_rank] == [tmm.rank(*p) for p in by_class]
    assert all(0 <= tmm.class_of(*p) < NUM_CLASSES for p in pairs)


def load_tmm_default_like() -> TrafficManagementDocument:
    return TrafficManagementDocument(
        version="t", levels={"7.4": 1, "7.2": 2}, priority_band_1=frozenset({"2.2"})
    )

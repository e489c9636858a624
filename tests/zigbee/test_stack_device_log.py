"""The trust center's device log changed while the HAN runs (SRV 8.11: CCS01 adds, CCS02
removes), through the emulated RCPs and air on a virtual clock."""

from __future__ import annotations

from test_stack_air import ESME, GSME, ICODE, STRANGER, Bench, joined, kinds

from rig.zigbee.mmo import with_crc


def test_a_device_added_to_the_log_may_then_join() -> None:
    bench = Bench()
    stranger = bench.device(STRANGER)
    stranger.join()
    bench.run(3.0)
    assert stranger.state == "refused"
    bench.hub.log_device(STRANGER, ICODE)
    stranger.join()
    bench.run(3.0)
    assert stranger.state == "joined"
    assert kinds(bench.hub.events, STRANGER) == ["refused", "associated", "joined", "announced"]


def test_a_removed_device_is_asked_to_leave_and_refused_when_it_joins_again() -> None:
    bench = Bench()
    esme = bench.device(ESME)
    joined(bench, esme)
    bench.hub.unlog_device(ESME)
    assert ESME not in bench.hub.children  # forgotten at once, whether or not it obeys
    [left] = [e for e in bench.hub.events if e.kind == "left"]
    assert "removed from the device log" in left.detail
    bench.run(1.0)
    assert esme.state == "left" and esme.network_key is None  # it took the NWK Leave request
    assert esme.events[-1].detail == "left: asked by the trust center"
    esme.join()
    bench.run(3.0)
    assert esme.state == "refused"
    refusal = [e for e in bench.hub.events if e.kind == "refused"][-1]
    assert refusal.device == ESME.hex().upper() and "not on the device log" in refusal.detail


def test_a_removed_device_that_rejoins_is_refused() -> None:
    bench = Bench()
    esme = bench.device(ESME)
    joined(bench, esme)
    memory = esme.memory()
    next(r for r in bench.host.radios if r.node is esme).node = None  # off: it misses the Leave
    esme.state = "left"
    bench.hub.unlog_device(ESME)
    bench.run(1.0)
    again = bench.device(ESME, memory=memory)  # power on: a secure rejoin with the kept key
    again.rejoin()
    bench.run(3.0)
    refusals = [e.detail for e in bench.hub.events if e.kind == "refused"]
    assert refusals[0] == f"rejoin: EUI-64 {ESME.hex().upper()} is not on the device log"
    assert again.state == "refused"  # and so is its fallback, a fresh join


def test_a_sleepy_device_removed_gets_the_leave_at_its_next_poll() -> None:
    bench = Bench()
    gsme = bench.device(GSME, sleepy=True, icode=with_crc(bytes(range(16))))
    joined(bench, gsme)
    bench.hub.unlog_device(GSME)
    assert gsme.state == "joined"  # held until it polls
    bench.run(2.0)
    assert gsme.state == "left"
    assert "left" in kinds(bench.hub.events, GSME)


def test_removing_a_device_not_on_the_network_only_changes_the_log() -> None:
    bench = Bench()
    bench.hub.unlog_device(ESME)
    bench.hub.unlog_device(STRANGER)
    assert ESME not in bench.hub.device_log and not bench.hub.events

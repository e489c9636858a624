"""The live bench: :class:`~rig.live.orchestrator.Rig` runs the DSP model in real time between
the User's requests and the bench's devices (launch, emulate, replay, port leases, kept
counters)."""

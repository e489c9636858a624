"""``rig simulate``: the DSP model in virtual time (issue 3), as ``rig benchmark dsp`` measures it.

Scenario files (:mod:`rig.sim.scenario`), the runner that wires arrivals, the DSP model and the
CSP on a :class:`~rig.clock.VirtualClock` (:mod:`rig.sim.runner`), streamed statistics
(:mod:`rig.sim.stats`), plots, the benchmark and the click commands (:mod:`rig.sim.commands`).
"""

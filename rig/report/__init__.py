"""Reports of a run: the latency table, an HTML report, JUnit XML, and run-to-run comparison.

Every report reads a run through :func:`rig.report.run.load_run`, from a results store or from
a run folder's JSON Lines files alike.
"""

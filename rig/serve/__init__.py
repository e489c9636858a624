"""``rig serve``: the rig's DUIS web service, an open DCC Boxed (docs/dcc-boxed.md).

:mod:`rig.serve.gate` checks what comes in and makes the DSP's signed answers,
:mod:`rig.serve.poster` POSTs responses and alerts to the Users' endpoints, and
:mod:`rig.serve.server` is the aiohttp application on the rig's own loop.
"""

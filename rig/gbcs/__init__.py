"""The pure GBCS codec (reference/gbcs.md): no I/O, no clock.

``frame`` (MAC Header, General-Signing), ``crypto`` (KDF, GMAC, ECDSA, payload encryption),
``utrn`` (top-up codes), ``dlms`` (A-XDR, xDLMS ACCESS), ``usecases`` (typed payloads) and
``codec`` (key-bound build/open for the remote-party and device ends).
"""

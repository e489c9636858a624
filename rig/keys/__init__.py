"""Key material: the layered ``keystore`` and bench key generation (``pki``)."""

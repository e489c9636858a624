"""Certificate-based Key Establishment, ZigBee SE 1.2a crypto suite 2 (docs/han.md "Key
Establishment (CBKE, suite 2)"): ``curve`` (sect283k1), ``ecqv`` (implicit certificates and a
test CA), ``agreement`` (ECMQV, KDF, MACs), ``machine`` (the cluster 0x0800 initiator and
responder). Pure: no I/O, the clock injected."""

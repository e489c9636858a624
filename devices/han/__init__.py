"""The bench HAN: the rig as Comms Hub on a Spinel radio, and the emulated HAN for CI."""

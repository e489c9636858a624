"""The radio: Spinel to an OpenThread RCP (codec, host driver), and an emulated RCP and air for
CI. See docs/han.md "Radio (Spinel)"."""

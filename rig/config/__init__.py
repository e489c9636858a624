"""Configuration: bench files (:mod:`rig.config.bench`) and the benches shipped with the rig
(``rig/config/benches/``)."""

"""What a run was configured with, as hashes: the plan, the bench, the TMM and the options.

A run's ``config_hash`` (the store's ``runs`` table) is one hash over the hashes of its parts,
and the parts are kept too (``runs.config``), so ``rig report --compare`` can refuse to compare
runs of different plans, benches or configurations and say which part differs
(docs/reports.md "Comparing runs").

- ``plan``: the selected tests (node ids, after ``-k`` / ``-m`` / ``--srv``). Not the bytes of
  their files: a nightly compares the same plan across edits of its bodies and limits, and the
  comparison shows what such an edit changed (outcomes, measurement verdicts);
- ``bench``: the bytes of every bench file;
- ``tmm``: the bytes of the TMM document each bench names (the packaged default if none);
- ``options``: the run's other settings that change its results, such as the number of xdist
  workers sharing the host.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from rig.results.jsonl import encode

#: The parts of a run's configuration, in the order they are reported.
PARTS = ("plan", "bench", "tmm", "options")


def text_hash(text: str) -> str:
    """SHA-256 of a text (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()


def files_hash(paths: Iterable[Path]) -> str:
    """SHA-256 over each file's name and bytes, in the order given (a missing file counts as
    its name alone: the run that names it fails on its own)."""
    digest = hashlib.sha256()
    for path in paths:
        content = path.read_bytes() if path.is_file() else b"(missing)"
        digest.update(path.name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def parts_hash(parts: Mapping[str, str]) -> str:
    """One hash over the hashes of a configuration's parts (in name order)."""
    return text_hash(encode(dict(sorted(parts.items()))))


def run_config(
    *,
    nodeids: Iterable[str],
    benches: Iterable[Path],
    tmms: Iterable[Path],
    options: Mapping[str, object],
) -> dict[str, str]:
    """The hash of each part of a run's configuration (see the module docstring)."""
    return {
        "plan": text_hash("\n".join(sorted(nodeids))),
        "bench": files_hash(benches),
        "tmm": files_hash(tmms),
        "options": text_hash(encode(dict(sorted(options.items())))),
    }


def differing_parts(a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    """The parts whose hashes differ between two configurations (a part one lacks differs)."""
    names = [*PARTS, *sorted((a.keys() | b.keys()) - set(PARTS))]
    return [n for n in names if (n in a or n in b) and a.get(n) != b.get(n)]

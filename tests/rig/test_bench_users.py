"""Bench Users: one [user] or several [[user]], validated with errors naming the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.config.bench import DEFAULT_BENCH, BenchError, load_bench

HEAD = '[keys]\ndirs = ["@rtds"]\n'
DEVICE = (
    '[[device]]\nname = "esme"\nkind = "esme"\neui = "00-DB-12-34-56-78-91-01"\nport = "/dev/x"\n'
)
A = '[[user]]\nname = "a"\neui = "90-B3-D5-1F-30-01-00-00"\nportfolio = 3\n'
B = '[[user]]\nname = "b"\neui = "90-B3-D5-1F-30-03-00-00"\nrole = "GS"\n'


def load(tmp_path: Path, users: str):
    path = tmp_path / "bench.toml"
    path.write_text(HEAD + users + DEVICE)
    return load_bench(path)


def test_several_users_in_order_the_first_is_the_default(tmp_path: Path) -> None:
    bench = load(tmp_path, A + B)
    assert list(bench.users) == ["a", "b"]
    assert bench.user.name == "a" and bench.user_named(None) is bench.user
    assert bench.users["a"].portfolio == 3 and bench.users["b"].role == "GS"
    assert bench.users["b"].counter_start == 1 << 32


def test_a_single_user_table_still_works(tmp_path: Path) -> None:
    bench = load(tmp_path, '[user]\neui = "90-B3-D5-1F-30-01-00-00"\n')
    assert list(bench.users) == ["supplier"] and bench.user_named("supplier") is bench.user


def test_the_embedded_bench_has_two_users() -> None:
    assert list(load_bench(DEFAULT_BENCH).users) == ["supplier", "supplier2"]


@pytest.mark.parametrize(
    ("users", "message"),
    [
        (A + A.replace('"a"', '"c"'), r"user\[1\]\.eui: expected an EUI not used by another user"),
        (A + B.replace('"b"', '"a"'), r"user\[1\]\.name: expected a name not used by another"),
        (A + B.replace('"GS"', '"XX"'), r"user\[1\]\.role: expected one of IS, GS"),
        (A.replace("portfolio = 3", "portfolio = -1"), r"user\[0\]\.portfolio: expected a number"),
        (A.replace("portfolio = 3", "portfolo = 3"), r"user\[0\]\.portfolo: unknown key"),
        ('[user]\neui = "90-B3-D5-1F-30-01-00-00"\ncounter_start = 0\n', r"user\.counter_start"),
        ("", r"user: expected a \[user\] table or an array of \[\[user\]\] tables \(missing\)"),
    ],
)
def test_bad_users_are_named(tmp_path: Path, users: str, message: str) -> None:
    with pytest.raises(BenchError, match=message):
        load(tmp_path, users)


def test_an_unknown_user_name_is_named(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match=r"no user named 'z' \(known: a, b\)"):
        load(tmp_path, A + B).user_named("z")

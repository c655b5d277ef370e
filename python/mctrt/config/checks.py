"""The value checks every config dataclass uses: each raises ConfigError naming the key, what it
must be, and what it got."""

from __future__ import annotations

from mctrt.errors import ConfigError


def fail(where: str, expected: str, value) -> ConfigError:
    return ConfigError(f"{where} must be {expected}; got {value!r}")


def number(where: str, value, low: float = 0.0, high: float = float("inf"), *, integer: bool = False, open_low=False):
    kinds = (int,) if integer else (int, float)
    bad = isinstance(value, bool) or not isinstance(value, kinds) or value != value or value > high
    bad = bad or (value <= low if open_low else value < low)
    if bad:
        bound = f"> {low}" if open_low else f">= {low}"
        raise fail(where, f"{'an integer' if integer else 'a number'} {bound}" + (f" and <= {high}" if high != float("inf") else ""), value)
    return value


def text(where: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise fail(where, "a non-empty string", value)
    return value


def points(where: str, value, at_least: int, unit: str = "the camera's pixels", *,
           exactly: bool = False) -> tuple[tuple[float, float], ...]:
    ok = isinstance(value, (list, tuple)) and (len(value) == at_least if exactly else len(value) >= at_least) and all(
        isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
        for p in value
    )
    if not ok:
        raise fail(where, f"a list of {'exactly' if exactly else 'at least'} {at_least} [x, y] points in {unit}", value)
    return tuple((float(x), float(y)) for x, y in value)

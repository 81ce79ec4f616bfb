"""Shared pieces of the fuzz tests and of ``benchmarks/bench_fuzz.py``: each target's inputs and
checks (a :class:`Fuzzer`, defined in its test module), how they are run, a per-input time limit,
byte and DICOM-element mutations.

Each fuzz test runs :data:`MAX_EXAMPLES` derandomised hypothesis examples (no example database:
the same inputs whenever the same modules are loaded, as hypothesis also draws constants found in
the project's loaded modules, so the tests run before in the process can change them) and counts
the outcome of each: ``success`` or the name of the RadSurvError subclass raised. Anything else
(a raw library exception, an error without a message, or more than :data:`PER_INPUT_SECONDS`)
fails the test with the input that caused it. The benchmark runs the same fuzzers on more inputs,
drawn from a seed, and counts those outcomes instead (:func:`outcome`).
"""

from __future__ import annotations

import logging
import signal
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import SimpleITK as sitk
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from survival_core.errors import RadSurvError

MAX_EXAMPLES = 1000
PER_INPUT_SECONDS = 2.0
#: UID root of the generated DICOM bases: fixed UIDs keep the fuzz inputs the same on every run.
UID_ROOT = "1.2.826.0.1.3680043.8.498.77"

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,  # the time limit is enforced by time_limit(), which also stops a hang
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


class InputTimeout(Exception):
    """An input took longer than the per-input limit (a hang or a pathological slowdown)."""


@contextmanager
def time_limit(seconds: float = PER_INPUT_SECONDS):
    """Raise :class:`InputTimeout` if the block runs longer than ``seconds`` (SIGALRM)."""

    def expire(signum, frame):
        raise InputTimeout(f"input not handled within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.perf_counter()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # a C call ignores the alarm until it returns: check the time as well
    if time.perf_counter() - start > seconds:
        raise InputTimeout(f"input took {time.perf_counter() - start:.1f} s (limit {seconds:g} s)")


#: Outcomes of one input besides ``success`` and a RadSurvError's class name.
CRASHED, HUNG = "crashed", "hung"


def outcome(action: Callable[[], object], seconds: float = PER_INPUT_SECONDS) -> tuple[str, Any]:
    """``action`` run on one fuzz input: ('success', None), (the RadSurvError subclass's name, the
    error), (:data:`HUNG`, the timeout) when it took over ``seconds``, or (:data:`CRASHED`, the
    exception) for any other exception or an error without a message."""
    try:
        with time_limit(seconds):
            action()
    except InputTimeout as err:
        return HUNG, err
    except RadSurvError as err:
        if not str(err).strip():
            return CRASHED, AssertionError(f"{type(err).__name__} without a message")
        return type(err).__name__, err
    except Exception as err:  # noqa: BLE001 - a crash is what the fuzzer looks for
        return CRASHED, err
    return "success", None


def run_one(outcomes: Counter, action: Callable[[], object]) -> None:
    """Run ``action`` on one fuzz input and count its outcome; a crash or a hang is raised."""
    kind, error = outcome(action)
    if kind in (CRASHED, HUNG):
        raise error
    outcomes[kind] += 1


def report(target: str, outcomes: Counter) -> int:
    """Print the outcome counts (visible with ``pytest -s``); returns the number of inputs run."""
    total = sum(outcomes.values())
    print(
        f"\nfuzz {target}: {total} inputs: "
        + ", ".join(f"{k} {v}" for k, v in outcomes.most_common())
    )
    return total


@dataclass(frozen=True)
class Fuzzer:
    """A fuzz target: ``inputs`` draws one input (the keyword arguments of ``feed``); ``feed(run,
    **input)`` builds it and hands the call that reads it to ``run``."""

    name: str
    inputs: st.SearchStrategy[dict[str, Any]]
    feed: Callable[..., None]


@contextmanager
def quiet() -> Iterator[None]:
    """Warnings and logged warnings (pydicom's, ITK's, RadSurv's) off: the fuzzer makes thousands
    of malformed values on purpose."""
    shown = sitk.ProcessObject.GetGlobalWarningDisplay()
    disabled = logging.root.manager.disable
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(shown)
        logging.disable(disabled)


def fuzz(
    fuzzer: Fuzzer,
    run: Callable[[Callable[[], object]], None],
    max_examples: int = MAX_EXAMPLES,
    seed: int | None = None,
) -> None:
    """Feed ``max_examples`` inputs of ``fuzzer`` to ``run``: hypothesis' derandomised ones (the
    same on every run, as the tests take them) or, with ``seed``, those that seed draws (the
    same for the same seed, so an input is reproduced by the seed and its index)."""

    @settings(FUZZ_SETTINGS, max_examples=max_examples, derandomize=seed is None)
    @given(fuzzer.inputs)
    def feed(example: dict[str, Any]) -> None:
        fuzzer.feed(run, **example)

    with quiet():
        (feed if seed is None else hypothesis_seed(seed)(feed))()


def fuzz_test(fuzzer: Fuzzer) -> Counter:
    """Run ``fuzzer`` as its test does: a crash or a hang raises with the input; returns the
    outcome counts, which the test checks reach both the accepting and the refusing paths."""
    outcomes: Counter = Counter()
    fuzz(fuzzer, lambda action: run_one(outcomes, action))
    report(fuzzer.name, outcomes)
    return outcomes


# --- byte-level mutations --------------------------------------------------------------------

_position = st.integers(min_value=0, max_value=2**31)
BYTE_OPS = st.one_of(
    st.tuples(st.just("flip"), _position, st.integers(0, 7)),
    st.tuples(st.just("set"), _position, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), _position, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), _position, st.integers(1, 64)),
    st.tuples(st.just("truncate"), _position, st.just(0)),
)


def apply_byte_ops(data: bytes, ops: list[tuple]) -> bytes:
    """Bit flips, overwrites, insertions, deletions and truncations at positions modulo the length."""
    buffer = bytearray(data)
    for op, position, arg in ops:
        at = position % max(len(buffer), 1)
        if op == "flip" and buffer:
            buffer[at] ^= 1 << arg
        elif op == "set":
            buffer[at : at + len(arg)] = arg
        elif op == "insert":
            buffer[at:at] = arg
        elif op == "delete":
            del buffer[at : at + arg]
        elif op == "truncate":
            del buffer[at:]
    return bytes(buffer)


# --- DICOM element-level mutations -----------------------------------------------------------

_ITEM_TAGS = {0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD}
_LONG_VRS = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"SV",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
    b"UV",
}


def dicom_elements(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """(tag, header offset, length-field offset, length-field size, value length) of every
    little-endian element, sequences and items entered rather than skipped."""
    elements = []
    at = 132 if data[128:132] == b"DICM" else 0
    while at + 8 <= len(data):
        tag = int.from_bytes(data[at : at + 2], "little") << 16 | int.from_bytes(
            data[at + 2 : at + 4], "little"
        )
        vr = data[at + 4 : at + 6]
        if tag in _ITEM_TAGS or not (vr.isalpha() and vr.isupper()):
            length_at, size = at + 4, 4  # item, delimiter or implicit VR
        elif vr in _LONG_VRS:
            length_at, size = at + 8, 4
        else:
            length_at, size = at + 6, 2
        length = int.from_bytes(data[length_at : length_at + size], "little")
        elements.append((tag, at, length_at, size, length))
        value_at = length_at + size
        entered = tag == 0xFFFEE000 or vr == b"SQ" or length == 0xFFFFFFFF
        at = value_at if entered else value_at + length
    return elements


def _ds(values: list[float]) -> bytes:
    return "\\".join(repr(v) for v in values).encode()


#: Replacement values: numbers as text (NaN, inf, huge, negative, wrong multiplicity), binary
#: integers at their limits, code strings and random bytes.
ELEMENT_VALUES = st.one_of(
    st.sampled_from(
        [
            b"",
            b"nan",
            b"NaN\\1\\2",
            b"inf",
            b"-inf\\0",
            b"1e308",
            b"-1e308\\1e308\\0",
            b"1e999",
            b"-0",
            b"0",
            b"-1",
            b"0\\0",
            b"1\\0\\0\\0\\1\\0",
            b"0\\0\\0\\0\\0\\0",
            b"1\\0\\0\\1\\0\\0",
            b"abc",
            b"\xff\xfe",
            b"9" * 64,
            b"\x00\x00",
            b"\xff\xff",
            b"\x00\x80",
            b"\x00\x00\x00\x00",
            b"\xff\xff\xff\xff",
            b"1.2.3",
            b"1.2.840.10008.1.2.4.50",
            b"RTSTRUCT",
            b"CLOSED_PLANAR",
            b"POINT",
            b"MONOCHROME1",
        ]
    ),
    st.lists(st.floats(width=32), max_size=10).map(_ds),
    st.lists(st.integers(-(2**40), 2**40), max_size=7).map(_ds),
    st.binary(max_size=24),
)

ELEMENT_OPS = st.one_of(
    st.tuples(st.just("value"), _position, ELEMENT_VALUES),
    st.tuples(
        st.just("length"), _position, st.sampled_from([0, 1, 2, 3, 0xFFFF, 0xFFFFFFFF, 2**31])
    ),
    st.tuples(st.just("remove"), _position, st.just(b"")),
)


def apply_element_ops(data: bytes, ops: list[tuple], interesting: frozenset[int]) -> bytes:
    """Replace an element's value (fixing its length), set its length field, or remove it.

    Even positions pick among the ``interesting`` tags present, odd ones among all elements.
    """
    for op, position, arg in ops:
        elements = dicom_elements(data)
        chosen = [e for e in elements if e[0] in interesting] if position % 2 == 0 else []
        pool = chosen or elements
        if not pool:
            break
        tag, header_at, length_at, size, length = pool[(position // 2) % len(pool)]
        value_at = length_at + size
        end = value_at + (0 if length == 0xFFFFFFFF else length)
        if op == "value":
            value = arg + b" " * (len(arg) % 2)
            if size == 2 and len(value) > 0xFFFF:
                value = value[:0xFFFE]
            data = data[:length_at] + len(value).to_bytes(size, "little") + value + data[end:]
        elif op == "length":
            data = (
                data[:length_at]
                + (arg % (1 << (8 * size))).to_bytes(size, "little")
                + data[value_at:]
            )
        else:
            data = data[:header_at] + data[end:]
    return data

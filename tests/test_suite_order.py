"""The suite's own scheduling: files marked ``heavy(seconds)`` run first, longest first, and every
other test keeps its collection order (``make test`` hands files to its workers in this order)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import pytest_collection_modifyitems


@dataclass
class Item:
    """The part of a collected test item the ordering hook reads."""

    name: str
    seconds: float | None = None

    def get_closest_marker(self, name: str):
        if name == "heavy" and self.seconds is not None:
            return pytest.mark.heavy(self.seconds).mark
        return None


def test_heavy_files_first_longest_first_the_rest_in_collection_order() -> None:
    items = [
        Item("a"),
        Item("browser-1", 60),
        Item("b"),
        Item("cohort", 160),
        Item("browser-2", 60),
        Item("c"),
    ]
    pytest_collection_modifyitems(items)
    assert [i.name for i in items] == ["cohort", "browser-1", "browser-2", "a", "b", "c"]

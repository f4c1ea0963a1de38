from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simulator import ROOT, Simulator  # noqa: E402

SCENARIOS = ROOT / "tests" / "scenarios"


def load_json(name: str) -> Any:
    with open(SCENARIOS / name, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator with its built-in default fixture (kv, langfuse prompts, opik projects)."""
    s = Simulator()
    try:
        yield s
    finally:
        s.close()


def poll(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> None:
    """Waits until ``predicate()`` holds; fails the test after ``timeout`` seconds."""
    until = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > until:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)

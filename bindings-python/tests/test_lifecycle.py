"""Fork, interpreter exit and threads (SPEC §9), each in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import failsoft
from simulator import Simulator

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def run_script(name: str, sim: Simulator, timeout: float = 30) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), sim.url, sim.control],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_forked_child_serves_the_cache_and_refreshes_on_its_own(sim: Simulator) -> None:
    result = run_script("fork_child.py", sim)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok")


def test_interpreter_exits_within_a_second_with_a_hung_backend(sim: Simulator) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "exit_hung.py"), sim.url, sim.control],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = proc.stdout.readline()
        assert line.strip() == "exiting", line + proc.stderr.read()
        said_exiting = time.monotonic()
        code = proc.wait(timeout=10)
        took = time.monotonic() - said_exiting
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    sim.fault("*", "healthy")
    assert code == 0, stderr
    assert took < 1.0, f"exit took {took:.2f}s"
    assert "panic" not in stderr and "Fatal" not in stderr, stderr


def test_eight_threads_read_while_the_backend_flaps(sim: Simulator) -> None:
    keys = ["greeting", "settings", "plain"]
    client = failsoft.Client(failsoft.Http(sim.url + "/kv/{key}"), ttl_seconds=0.05, cold_deadline_seconds=3)
    client.prefetch(keys)
    errors: List[BaseException] = []
    fallbacks: List[Any] = []
    slowest: List[float] = [0.0]
    reads: List[int] = []
    stop = threading.Event()

    def reader() -> None:
        n = 0
        try:
            while not stop.is_set():
                for key in keys:
                    started = time.monotonic()
                    v = client.get(key, fallback="FALLBACK")
                    slowest[0] = max(slowest[0], time.monotonic() - started)
                    if v.is_fallback:
                        fallbacks.append(v)
                    n += 1
        except BaseException as e:
            errors.append(e)
        reads.append(n)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    modes: List[Dict[str, Any]] = [
        {"mode": "503"},
        {"mode": "healthy"},
        {"mode": "hang"},
        {"mode": "healthy"},
        {"mode": "refused"},
        {"mode": "healthy"},
        {"mode": "garbage"},
        {"mode": "slow", "delay_ms": 200},
        {"mode": "500"},
        {"mode": "healthy"},
    ]
    try:
        for round_ in range(2):
            for m in modes:
                sim.fault("*", **m)
                time.sleep(0.1)
    finally:
        sim.fault("*", "healthy")
        stop.set()
        for t in threads:
            t.join(timeout=10)
        status = client.status()
        client.close()
    assert not errors, errors
    assert not fallbacks, fallbacks[:3]
    assert len(reads) == 8 and min(reads) > 100, reads
    # Every read was served from the cache: none degraded to a snapshot, a fallback or an error.
    counters = status["counters"]
    assert counters["fallback_reads"] == counters["snapshot_reads"] == counters["error_reads"] == 0, counters
    assert counters["reads"] == counters["fresh_reads"] + counters["stale_reads"] >= sum(reads), counters
    # No read waited for the network (a hung fetch would cost the 3 s cold deadline); the bound
    # leaves room for GIL hand-offs between 8 busy threads on a loaded machine.
    assert slowest[0] < 2.0, f"slowest read {slowest[0]:.3f}s"
    assert sim.count("/kv/greeting") > 3  # refreshes really happened during the flapping


def test_module_imports_in_a_fresh_interpreter_without_threads() -> None:
    # Importing and creating a client starts no thread and does no I/O (SPEC §9).
    code = (
        "import threading, failsoft;"
        "c = failsoft.Client(failsoft.Http('http://127.0.0.1:9/{key}'));"
        "import os; print(len(os.listdir('/proc/self/task')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1", out.stdout

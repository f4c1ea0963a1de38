"""A cheap, repeatable look at the warm ``get_prompt`` row of bench_langfuse.py.

    python bench/python/warm_micro.py [runs]    # the bench's own warm row, `runs` times, plus
                                                # Python's floor for calls of the same shape
    python bench/python/warm_micro.py loop N    # N warm failsoft reads only, for callgrind:

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*read_fast*' \\
        python bench/python/warm_micro.py loop 20000   # "Collected" / N = instructions per call

Run it with the interpreter of the bench's virtualenv (``run.sh`` installs both SDKs there).
"""

from __future__ import annotations

import statistics
import sys
import time

import bench_langfuse as b
from simulator import Simulator


def median_ns(get, reads: int = 20000) -> float:
    """The bench's timing (per-call clock reads, timer overhead subtracted) over ``get``."""
    overhead = b.timer_overhead_ns(reads)
    clock = time.perf_counter_ns
    samples = []
    for _ in range(reads):
        t0 = clock()
        get()
        samples.append(max(0.0, clock() - t0 - overhead))
    return statistics.median(samples)


def main() -> None:
    with Simulator() as sim:
        if sys.argv[1:2] == ["loop"]:
            get = b.make_client("failsoft", sim.url)
            for _ in range(int(sys.argv[2])):
                get()
            return
        for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
            w = b.warm(sim.url, 20000, b.timer_overhead_ns(20000))
            lf, fs = w["langfuse"]["median_us"] * 1000, w["failsoft"]["median_us"] * 1000
            print(f"warm get_prompt median: langfuse {lf:.0f} ns, failsoft {fs:.0f} ns, {lf / fs:.1f}x")
        d, lst = {b.PROMPT: 1}, []
        floors = {
            "lambda: None": lambda: None,
            "lambda: d.get(name, fallback)": lambda: d.get(b.PROMPT, b.FALLBACK),
            "lambda: lst.sort(reverse=False)": lambda: lst.sort(reverse=False),
        }
        for name, f in floors.items():
            print(f"floor, {name}: {min(median_ns(f) for _ in range(3)):.0f} ns")


if __name__ == "__main__":
    main()

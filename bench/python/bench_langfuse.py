"""failsoft vs the official Langfuse Python SDK, against the same local simulator.

Measures, with both clients' default settings:

1. warm ``get_prompt`` latency (the prompt is cached): median and p99 over many reads, the two
   SDKs alternating in blocks so that both see the same load;
2. time to the fallback on a cold start (a fresh process, nothing cached) while the backend
   answers HTTP 500;
3. the same while the backend hangs (accepts the request and never answers).

Every cold start runs in a fresh interpreter, so no SDK-level cache or connection survives
between runs. Run it through ``run.sh`` (which installs both packages in a virtualenv).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings-python" / "tests"))

from simulator import Simulator  # noqa: E402

PK, SK = "pk-lf-test", "sk-lf-test"  # the simulator's default fixture
PROMPT = "movie-critic"
FALLBACK = "Do you like {{movie}}?"
SDKS = ("langfuse", "failsoft")


def make_client(sdk: str, url: str) -> Callable[[], Any]:
    """A zero-argument ``get_prompt`` of a new client of ``sdk``, with its default settings."""
    if sdk == "langfuse":
        from langfuse import Langfuse

        # Tracing off: it exports spans in the background and has nothing to do with prompts.
        lf = Langfuse(public_key=PK, secret_key=SK, host=url, tracing_enabled=False)
        return lambda: lf.get_prompt(PROMPT, fallback=FALLBACK)
    import failsoft

    fs = failsoft.Client(failsoft.Langfuse(base_url=url, public_key=PK, secret_key=SK))
    return lambda: fs.get_prompt(PROMPT, fallback=FALLBACK)


def timer_overhead_ns(reads: int) -> float:
    """The median cost of the timing itself (two clock reads), subtracted from every sample."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(reads):
        t0 = clock()
        samples.append(clock() - t0)
    return statistics.median(samples)


def warm(url: str, reads: int, overhead: float, rounds: int = 10) -> Dict[str, Dict[str, float]]:
    """Warm reads of both SDKs, alternating in ``rounds`` blocks so that both see the same load
    on the machine (a shared or busy machine otherwise skews the ratio)."""
    gets = {sdk: make_client(sdk, url) for sdk in SDKS}
    samples: Dict[str, List[float]] = {sdk: [] for sdk in SDKS}
    for sdk, get in gets.items():
        first = get()
        assert not first.is_fallback, f"{sdk}: the warm-up read fell back"
        for _ in range(min(1000, reads)):
            get()
    clock = time.perf_counter_ns
    per_round = max(1, reads // rounds)
    for _ in range(rounds):
        for sdk, get in gets.items():
            out = samples[sdk]
            for _ in range(per_round):
                t0 = clock()
                p = get()
                out.append(max(0.0, clock() - t0 - overhead))
            assert not p.is_fallback
    result = {}
    for sdk, s in samples.items():
        s.sort()
        result[sdk] = {"median_us": statistics.median(s) / 1000, "p99_us": s[int(len(s) * 0.99) - 1] / 1000}
    return result


def cold_child(sdk: str, url: str) -> None:
    """In a fresh interpreter: one cold ``get_prompt``; prints the seconds it took."""
    get = make_client(sdk, url)
    t0 = time.perf_counter()
    p = get()
    took = time.perf_counter() - t0
    print(json.dumps({"seconds": took, "is_fallback": bool(p.is_fallback)}), flush=True)
    os._exit(0)  # do not measure (or wait for) the SDKs' shutdown


def cold(sdk: str, url: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, __file__, "--cold-child", sdk, "--url", url],
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode != 0 or not lines:
            raise RuntimeError(f"{sdk} cold run failed: {out.stdout}\n{out.stderr}")
        result = json.loads(lines[-1])
        assert result["is_fallback"], f"{sdk}: the cold read did not fall back"
        times.append(result["seconds"])
    return statistics.median(times)


def fmt_us(v: float) -> str:
    return f"{v:,.2f} µs"


def fmt_s(v: float) -> str:
    return f"{v:.3f} s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warm-reads", type=int, default=20000)
    ap.add_argument("--cold-runs", type=int, default=3, help="cold starts per SDK on HTTP 500")
    ap.add_argument("--cold-child")
    ap.add_argument("--url")
    args = ap.parse_args()
    if args.cold_child:
        cold_child(args.cold_child, args.url)
        return

    import langfuse

    import failsoft

    rows = []
    with Simulator() as sim:
        overhead = timer_overhead_ns(args.warm_reads)
        w = warm(sim.url, args.warm_reads, overhead)
        w_lf, w_fs = w["langfuse"], w["failsoft"]
        rows.append(("warm get_prompt, median", fmt_us(w_lf["median_us"]), fmt_us(w_fs["median_us"]),
                     w_lf["median_us"] / w_fs["median_us"]))
        rows.append(("warm get_prompt, p99", fmt_us(w_lf["p99_us"]), fmt_us(w_fs["p99_us"]),
                     w_lf["p99_us"] / w_fs["p99_us"]))

        sim.fault("*", "500")
        c_lf = cold("langfuse", sim.url, args.cold_runs)
        c_fs = cold("failsoft", sim.url, args.cold_runs)
        rows.append(("cold start, backend 500 → fallback", fmt_s(c_lf), fmt_s(c_fs), c_lf / c_fs))

        sim.fault("*", "hang")
        h_lf = cold("langfuse", sim.url, 1)
        h_fs = cold("failsoft", sim.url, 1)
        sim.fault("*", "healthy")
        rows.append(("cold start, backend hanging → fallback", fmt_s(h_lf), fmt_s(h_fs), h_lf / h_fs))

    lf_name = f"langfuse {langfuse.__version__}" if hasattr(langfuse, "__version__") else "langfuse"
    fs_name = f"failsoft {failsoft.__version__}"
    header = ("measurement (default settings)", lf_name, fs_name, "ratio")
    table = [header] + [(r[0], r[1], r[2], f"{r[3]:,.1f}×") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    print(f"\nPython {sys.version.split()[0]}; {args.warm_reads} warm reads of get_prompt(name, fallback=...) "
          f"each, alternating in 10 blocks (timer overhead {overhead:.0f} ns subtracted); "
          f"{args.cold_runs} cold starts on 500 and 1 on a hang, each in a fresh process\n")
    for i, row in enumerate(table):
        print("| " + " | ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    main()

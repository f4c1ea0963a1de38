"""The official openai client under the provider faults of issue 12, for comparison with failsoft
(bench/llm/run.sh): its defaults (max_retries=2) with a 10 s timeout, as a user would set one,
and a hand-written fallback to the second endpoint on any exception, streams included.

Prints one JSON object per fault: ms to a complete answer (or to giving up), whether the answer
was complete, and the requests each endpoint received. The faults are the list in
core/benches/llm.rs (`faults()`), in the same order.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

import openai

FAULTS = [
    ("stream ends without [DONE]", True, {"mode": "no_done"}),
    ("one malformed event in a stream", True, {"mode": "malformed_chunk", "at": 5}),
    ("stream cut at chunk 40 of 60", True, {"mode": "break_stream", "at": 40}),
    ("stream stalls after 3 chunks", True, {"mode": "stall_stream", "at": 3}),
    ("silent primary (first chunk after 20 s)", True, {"mode": "slow_first_chunk", "delay_ms": 20000}),
    ("400 context_length_exceeded", False, {"mode": "context_length"}),
    ("400 content policy", False, {"mode": "content_policy"}),
    ("429 insufficient_quota", False, {"mode": "insufficient_quota"}),
    ("503 on every call", False, {"mode": 503}),
]

sim_bin = os.environ["FAILSOFT_SIM_BIN"]
proc = subprocess.Popen([sim_bin, "--exit-on-stdin-eof"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
urls = json.loads(proc.stdout.readline())


def control(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(urls["control"] + path, data=data, method="POST" if data is not None else "GET",
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read() or b"null")


def hits(target):
    counts = control("/_sim/counts")["paths"]
    return sum(n for p, n in counts.items() if p == f"/t/{target}/v1/chat/completions")


words = " ".join(f"w{i}" for i in range(1, 58))
control("/_sim/openai", {"reply": words, "chunk_delay_ms": 2})
messages = [{"role": "user", "content": "Count"}]
primary = openai.OpenAI(base_url=urls["url"] + "/t/primary/v1", api_key="sk-bench", timeout=10.0)
fallback = openai.OpenAI(base_url=urls["url"] + "/t/fallback/v1", api_key="sk-bench", timeout=10.0)


def call(client, model, stream):
    if not stream:
        return client.chat.completions.create(model=model, messages=messages).choices[0].message.content
    text = ""
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    return text


rows = []
for name, stream, fault in FAULTS:
    control("/_sim/faults/clear", {})
    control("/_sim/fault", {"route": "/t/primary", **fault})
    control("/_sim/counts/reset", {})
    t = time.perf_counter()
    try:
        text = call(primary, "gpt-4o", stream)
    except Exception:  # the hand-written fallback of a careful user
        try:
            text = call(fallback, "gpt-4o-mini", stream)
        except Exception:
            text = ""
    ms = (time.perf_counter() - t) * 1000
    complete = text.startswith("w1 ") and "w57 [target=" in text
    rows.append({"fault": name, "ms": ms, "complete": complete, "primary": hits("primary"), "fallback": hits("fallback")})
control("/_sim/faults/clear", {})
proc.stdin.close()
proc.wait(5)
json.dump(rows, sys.stdout)

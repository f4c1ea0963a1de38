"""The official openai client on a dead primary, for comparison with failsoft (bench/llm/run.sh).

Starts failsoft-sim, hangs (or refuses) the primary, and times what a user of the official client
gets with its defaults (max_retries=2) and a 1 s timeout: the time until it gives up, and until
a hand-written fallback to the second endpoint answers.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

import openai

sim_bin = os.environ["FAILSOFT_SIM_BIN"]
proc = subprocess.Popen([sim_bin, "--exit-on-stdin-eof"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
urls = json.loads(proc.stdout.readline())


def fault(route, mode):
    req = urllib.request.Request(urls["control"] + "/_sim/fault", data=json.dumps({"route": route, "mode": mode}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


messages = [{"role": "user", "content": "Count to 3"}]
primary = openai.OpenAI(base_url=urls["url"] + "/t/primary/v1", api_key="sk-bench", timeout=1.0)
fallback = openai.OpenAI(base_url=urls["url"] + "/t/fallback/v1", api_key="sk-bench", timeout=1.0)
results = {}
for mode in ["hang", "refused"]:
    fault("/t/primary", mode)
    t = time.perf_counter()
    try:
        primary.chat.completions.create(model="openpipe:ft", messages=messages)
    except openai.APIError:
        pass
    gave_up = time.perf_counter() - t
    fallback.chat.completions.create(model="gpt-4o-mini", messages=messages)
    results[mode] = {"gave_up_ms": gave_up * 1000, "answered_ms": (time.perf_counter() - t) * 1000}
fault("/t/primary", "healthy")
proc.stdin.close()
proc.wait(5)
json.dump(results, sys.stdout)

"""Smoke test of the installed wheel (tests/dist/run-tests.sh runs it in a fresh venv, no Rust).

    python smoke.py VERSION DEAD_URL SIM_URL

DEAD_URL: nothing listens there (the backend is down). SIM_URL: failsoft-sim with its route
/t/primary refused, so an LLM call has to fall over to /t/fallback.
"""

import sys
import time

import failsoft

version, dead, sim = sys.argv[1:4]
assert failsoft.__version__ == version, (failsoft.__version__, version)
assert "site-packages" in failsoft.__file__, failsoft.__file__  # the installed wheel, not a checkout

# A cold read with the backend down answers with the fallback, and says so.
down = failsoft.Client(failsoft.Http(dead + "/{key}"), cold_deadline_seconds=2)
v = down.get("greeting", fallback={"text": "fallback"})
assert v.is_fallback and v.source == "fallback" and v.value == {"text": "fallback"}, v
print("python: cold read, backend down -> fallback (is_fallback=True)")

# The first read fetches; the next one is served from the cache.
up = failsoft.Client(failsoft.Http(sim + "/kv/{key}"))
first = up.get("greeting", fallback={"text": "fallback"})
assert not first.is_fallback and first.value == {"text": "hello"}, first
t = time.perf_counter()
warm = up.get("greeting", fallback={"text": "fallback"})
took_us = (time.perf_counter() - t) * 1e6
assert warm.source == "fresh" and not warm.is_fallback and warm.value == {"text": "hello"}, warm
print(f"python: warm read -> {warm.value} in {took_us:.1f} us")

# An LLM call whose primary refuses is answered by the fallback.
llm = failsoft.OpenAI(
    base_url=sim + "/t/primary/v1",
    api_key="sk-primary-smoke",
    timeout=5,
    max_retries=0,
    fallback_client=failsoft.OpenAICompatibleClient(base_url=sim + "/t/fallback/v1", api_key="sk-fallback-smoke"),
)
c = llm.chat.completions.create(
    model="primary-model", messages=[{"role": "user", "content": "hi"}], fallback={"model": "fallback-model"}
)
assert c.is_fallback and c.served_by.index == 1, (c.is_fallback, c.served_by)
assert c.choices[0].message.content == "Hello from the simulator [target=fallback]", c.choices[0].message.content
print(f"python: LLM call fell over: {c.choices[0].message.content!r} (is_fallback=True)")
down.close()
up.close()

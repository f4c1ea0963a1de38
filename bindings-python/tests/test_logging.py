"""Secrets never reach a log, an error, status() or a repr (issue 15, SPEC §4): at the most
verbose level, a client configured with the API keys, Langfuse secret key and URL password of
``tests/scenarios/secrets.json`` goes through a successful read, a 401, a refused connection and
an LLM fallback; the captured ``failsoft`` log and every text the objects show pass the file's
one assertion."""

from __future__ import annotations

import json
import logging
from typing import Any, List

import pytest

import failsoft
from conftest import load_json, poll
from simulator import Simulator

SCENARIO = load_json("secrets.json")


def assert_no_secret_and_useful(log_text: str, other_texts: List[str]) -> None:
    """secrets.json's assertion: no forbidden form anywhere, every useful line in the log."""
    everything = "\n".join([log_text, *other_texts])
    for f in SCENARIO["forbidden"]:
        assert f["text"] not in everything, f"the {f['form']} form of {f['secret']} leaked:\n{everything}"
    for line in SCENARIO["useful_lines"]:
        assert line in log_text, f"the log lacks {line!r}:\n{log_text}"


def error_texts(call: Any) -> List[str]:
    with pytest.raises(failsoft.Error) as info:
        call()
    e = info.value
    return [str(e), repr(e), e.message]


def test_trace_logs_errors_status_and_reprs_hold_no_secret(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    s = SCENARIO["secrets"]
    with_password = sim.url.replace("://", f"://{SCENARIO['url_user']}:{s['url_password']}@", 1)
    texts: List[str] = []
    with caplog.at_level(1, logger="failsoft"):
        # A successful read, with a credential header and a password in the URL.
        http_source = failsoft.Http(
            url=f"{with_password}/kv/{{key}}", headers={"Authorization": f"Bearer {s['api_key']}"}
        )
        http = failsoft.Client(http_source)
        ok = http.get("greeting")
        assert not ok.is_fallback

        # A 401: the simulator knows other Langfuse keys, so ours are sent and refused.
        lf_source = failsoft.Langfuse(
            base_url=sim.url, public_key=SCENARIO["langfuse_public_key"], secret_key=s["langfuse_secret_key"]
        )
        lf = failsoft.Client(lf_source)
        texts += error_texts(lambda: lf.get_prompt(SCENARIO["prompt"]))
        assert "401" in texts[0]

        # A refused connection, served from the fallback.
        sim.fault("*", "refused")
        refused = http.get("settings", fallback=1)
        assert refused.is_fallback
        texts += error_texts(lambda: http.get("plain"))
        sim.fault("*", "healthy")

        # An LLM fallback: the primary (keyed, password in its URL) answers 500, the fallback answers.
        sim.fault(f"/t/{SCENARIO['llm_primary']}", "500")
        llm = failsoft.OpenAI(
            base_url=f"{with_password}/t/{SCENARIO['llm_primary']}/v1",
            api_key=s["api_key"],
            fallback_client=failsoft.OpenAICompatibleClient(
                base_url=sim.openai_base_url(SCENARIO["llm_fallback"]), api_key=s["fallback_api_key"]
            ),
            max_retries=0,
        )
        r = llm.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], fallback={"model": "m"}
        )
        assert r.is_fallback
        poll(lambda: all(line in caplog.text for line in SCENARIO["useful_lines"]))

        objects: List[Any] = [http_source, lf_source, http, lf, llm, ok, refused, r, r.served_by, *r.attempts, ok.error, refused.error]
        texts += [repr(o) for o in objects] + [str(o) for o in objects]
        texts += [json.dumps(c.status(), default=str) for c in (http, lf)]
        texts += [r.to_json()]
        http.close()
        lf.close()

    log_text = "\n".join(f"{rec.levelname} {rec.getMessage()}" for rec in caplog.records)
    assert_no_secret_and_useful(log_text, texts)
    # failsoft's own debug lines pass; the HTTP stack's (connections, wire dumps) do not.
    assert any(rec.levelno == logging.DEBUG for rec in caplog.records), log_text
    assert "Call<SendRequest>" not in log_text and "TcpStream" not in log_text, log_text

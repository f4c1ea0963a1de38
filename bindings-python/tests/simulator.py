"""Starts and drives a failsoft-sim process (tests/simulator) for the tests and the benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, Optional

ROOT = Path(__file__).resolve().parents[2]

# Never route the control calls through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def sim_binary() -> str:
    """``FAILSOFT_SIM_BIN``, else the workspace's release build, else its debug build."""
    env = os.environ.get("FAILSOFT_SIM_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        candidate = ROOT / "target" / profile / "failsoft-sim"
        if candidate.exists():
            return str(candidate)
    raise RuntimeError(
        "failsoft-sim not found: run `cargo build --release -p failsoft-sim` or set FAILSOFT_SIM_BIN"
    )


class Simulator:
    """One simulator process; ``url`` is its data port, ``control`` its control port."""

    def __init__(self, fixture: Optional[Dict[str, Any]] = None) -> None:
        args = [sim_binary(), "--exit-on-stdin-eof"]
        self._fixture_file = None
        if fixture is not None:
            f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
            json.dump(fixture, f)
            f.close()
            self._fixture_file = f.name
            args += ["--fixture", f.name]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("failsoft-sim exited before printing its addresses")
        info = json.loads(line)
        self.url: str = info["url"].rstrip("/")
        self.control: str = info["control"].rstrip("/")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.control + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with _OPENER.open(req, timeout=10) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def fault(self, route: str, mode: str, **options: Any) -> None:
        self._call("POST", "/_sim/fault", {"route": route, "mode": mode, **options})

    def set_kv(self, key: str, value: Any, version: Optional[int] = None) -> None:
        body: Dict[str, Any] = {"key": key, "value": value}
        if version is not None:
            body["version"] = version
        self._call("POST", "/_sim/kv", body)

    def delete_kv(self, key: str) -> None:
        self._call("DELETE", "/_sim/kv/" + urllib.parse.quote(key, safe=""))

    def publish_prompt(self, prompt: Dict[str, Any]) -> Any:
        return self._call("POST", "/_sim/langfuse/prompts", prompt)

    def publish_blueprint(self, body: Dict[str, Any]) -> Any:
        return self._call("POST", "/_sim/opik/blueprints", body)

    def set_openai(self, **options: Any) -> Any:
        """``reply`` and / or ``chunk_delay_ms`` of the OpenAI-compatible routes."""
        return self._call("POST", "/_sim/openai", options)

    def last_openai_request(self, target: str) -> Any:
        """The JSON body of the last chat request ``/t/{target}/v1`` received."""
        return self._call("GET", "/_sim/openai/last?target=" + urllib.parse.quote(target))

    def openai_base_url(self, target: str) -> str:
        return f"{self.url}/t/{target}/v1"

    def state(self) -> Any:
        return self._call("GET", "/_sim/state")

    def count(self, path: str) -> int:
        counts = self._call("GET", "/_sim/counts")
        wanted = urllib.parse.unquote(path)
        return sum(n for p, n in counts["paths"].items() if urllib.parse.unquote(p) == wanted)

    def reset_counts(self) -> None:
        self._call("POST", "/_sim/counts/reset")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._fixture_file:
            os.unlink(self._fixture_file)

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

"""Last known good on disk (SPEC §5, issue 8) from Python: a process restarted while the backend
is down serves the snapshot (not the fallback), only for the source that wrote it, and a
directory written by `failsoft pull` serves a first start with no backend.

Each restart is a fresh interpreter (scripts/read_prompts.py), so nothing can come from memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import failsoft
from conftest import poll
from simulator import ROOT, Simulator

SCRIPTS = Path(__file__).resolve().parent / "scripts"
PK, SK = "pk-lf-test", "sk-lf-test"


def restart_and_read(
    snapshot_dir: Path, base_url: str, prompts: List[Dict[str, str]], public_key: str = PK
) -> List[Dict[str, Any]]:
    """Reads `prompts` in a new interpreter with its own client; what each read served."""
    spec = {"base_url": base_url, "public_key": public_key, "snapshot_dir": str(snapshot_dir), "prompts": prompts}
    out = subprocess.run(
        [sys.executable, str(SCRIPTS / "read_prompts.py"), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result: List[Dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def snapshot_files(d: Path) -> List[Path]:
    return sorted(p for p in d.iterdir() if p.suffix == ".json")


def write_snapshot(sim: Simulator, d: Path, name: str = "movie-critic") -> failsoft.Prompt:
    """Reads `name` through a client with snapshots in `d`, closes it, waits for the file."""
    source = failsoft.Langfuse(base_url=sim.url, public_key=PK, secret_key=SK)
    with failsoft.Client(source, snapshot_dir=d) as client:
        p = client.get_prompt(name)
        assert p.source == "fresh"
    poll(lambda: len(snapshot_files(d)) >= 1)
    return p


def test_a_restart_with_the_backend_down_serves_the_snapshot(sim: Simulator, tmp_path: Path) -> None:
    written = write_snapshot(sim, tmp_path)
    assert written.version == 1
    time.sleep(1.0)  # so that a true age (since the fetch, not since the restart) shows
    sim.fault("*", "refused")
    [p] = restart_and_read(tmp_path, sim.url, [{"name": "movie-critic"}])
    assert p["source"] == "snapshot" and p["is_fallback"] is False, p
    assert p["version"] == 1 and p["prompt"] == "Do you like {{movie}}?" and p["config"] == {"temperature": 0.7}
    assert p["compiled"] == "Do you like Dune?"
    assert p["age_seconds"] is not None and 1.0 <= p["age_seconds"] < 60, p
    assert p["error"] == "Unavailable", p  # why the source could not answer
    # Nothing else served from the snapshot: a prompt never fetched gets its fallback.
    [other] = restart_and_read(tmp_path, sim.url, [{"name": "chat-agent", "type": "chat"}])
    assert other["is_fallback"] is True and other["source"] == "fallback", other


def test_a_snapshot_is_never_served_for_another_source(sim: Simulator, tmp_path: Path) -> None:
    write_snapshot(sim, tmp_path)
    sim.fault("*", "refused")
    # The same directory, another base URL (also down): the fallback, never the snapshot.
    [p] = restart_and_read(tmp_path, "http://127.0.0.1:9", [{"name": "movie-critic"}])
    assert p["source"] == "fallback" and p["is_fallback"] is True and p["prompt"] == "FALLBACK {{x}}", p
    # The same base URL, another public key (another Langfuse project).
    [p] = restart_and_read(tmp_path, sim.url, [{"name": "movie-critic"}], public_key="pk-lf-other")
    assert p["source"] == "fallback" and p["is_fallback"] is True, p
    # The writer's own source still gets it: the files were there all along.
    [p] = restart_and_read(tmp_path, sim.url, [{"name": "movie-critic"}])
    assert p["source"] == "snapshot", p


def test_a_live_backend_wins_over_the_snapshot(sim: Simulator, tmp_path: Path) -> None:
    write_snapshot(sim, tmp_path)
    sim.publish_prompt({"name": "movie-critic", "type": "text", "prompt": "v3 {{movie}}", "labels": ["production"]})
    [p] = restart_and_read(tmp_path, sim.url, [{"name": "movie-critic"}])
    assert p["source"] == "fresh" and p["version"] == 3 and p["prompt"] == "v3 {{movie}}", p


def failsoft_bin() -> Optional[str]:
    """The CLI: ``FAILSOFT_BIN``, else the workspace's release build."""
    env = os.environ.get("FAILSOFT_BIN")
    if env:
        return env
    candidate = ROOT / "target" / "release" / "failsoft"
    return str(candidate) if candidate.exists() else None


def test_failsoft_pull_writes_a_directory_a_fresh_process_serves(sim: Simulator, tmp_path: Path) -> None:
    cli = failsoft_bin()
    if cli is None:
        pytest.skip("the failsoft CLI is not built: cargo build --release -p failsoft-cli (or set FAILSOFT_BIN)")
    out_dir = tmp_path / "baked"
    env = dict(os.environ, LANGFUSE_PUBLIC_KEY=PK, LANGFUSE_SECRET_KEY=SK)
    pulled = subprocess.run(
        [cli, "pull", "movie-critic", "chat-agent", "--source", "langfuse", "--url", sim.url, "--out", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert "pulled movie-critic (version 1)" in pulled.stdout, pulled.stdout
    assert len(snapshot_files(out_dir)) == 2
    for f in snapshot_files(out_dir):
        assert SK not in f.read_text(encoding="utf-8")  # credentials are never written
    # Missing keys make pull fail, naming them.
    failed = subprocess.run(
        [cli, "pull", "no-such-prompt", "--source", "langfuse", "--url", sim.url, "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert failed.returncode != 0 and "no-such-prompt" in failed.stderr, failed.stdout + failed.stderr

    sim.fault("*", "refused")
    text, chat = restart_and_read(
        out_dir, sim.url, [{"name": "movie-critic"}, {"name": "chat-agent", "type": "chat"}]
    )
    assert text["source"] == "snapshot" and not text["is_fallback"] and text["version"] == 1, text
    assert text["compiled"] == "Do you like Dune?"
    assert chat["source"] == "snapshot" and not chat["is_fallback"] and chat["version"] == 1, chat
    first, last = chat["compiled"][0], chat["compiled"][-1]
    assert (first["role"], first["content"]) == ("system", "You are a critic."), chat
    assert (last["role"], last["content"]) == ("user", "Dune?"), chat

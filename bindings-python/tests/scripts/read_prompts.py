"""Run by test_snapshots in a fresh interpreter (nothing cached, nothing in memory from the
test's process): reads prompts through a client with a snapshot directory and prints, as one
JSON line, what each read served.

    python read_prompts.py '{"base_url": ..., "public_key": ..., "snapshot_dir": ...,
                             "prompts": [{"name": ..., "type": "text"}]}'
"""

import json
import sys

import failsoft

spec = json.loads(sys.argv[1])
source = failsoft.Langfuse(
    base_url=spec["base_url"], public_key=spec["public_key"], secret_key=spec.get("secret_key", "sk-lf-test")
)
out = []
with failsoft.Client(source, snapshot_dir=spec["snapshot_dir"], cold_deadline_seconds=2) as client:
    for p in spec["prompts"]:
        kind = p.get("type", "text")
        fallback = "FALLBACK {{x}}" if kind == "text" else [{"role": "system", "content": "FALLBACK"}]
        prompt = client.get_prompt(p["name"], type=kind, fallback=fallback)
        out.append(
            {
                "name": prompt.name,
                "source": prompt.source,
                "is_fallback": prompt.is_fallback,
                "version": prompt.version,
                "age_seconds": prompt.age_seconds,
                "prompt": prompt.prompt,
                "config": dict(prompt.config),
                "error": None if prompt.error is None else prompt.error.kind,
                "compiled": prompt.compile(movie="Dune", role="a critic", question="Dune?"),
            }
        )
print(json.dumps(out), flush=True)

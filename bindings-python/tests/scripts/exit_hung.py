"""Run by test_lifecycle: the interpreter must exit promptly with refreshes and cold reads hung
on the backend, an on_change callback registered and clients never closed."""

import json
import sys
import threading
import time
import urllib.request

import failsoft

url, control = sys.argv[1], sys.argv[2]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def sim(path, body):
    req = urllib.request.Request(control + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    opener.open(req, timeout=10).read()


clients = [failsoft.Client(failsoft.Http(url + "/kv/{key}"), ttl_seconds=0.05) for _ in range(3)]
for c in clients:
    c.on_change(lambda change: print("changed", change.key, flush=True))
    c.get("greeting")
sim("/_sim/fault", {"route": "*", "mode": "hang"})
time.sleep(0.1)
for c in clients:
    c.get("greeting")  # stale: its refresh hangs
# A cold read hung on the backend in a daemon thread (the GIL is released while it waits).
threading.Thread(target=lambda: clients[0].get("settings", fallback={}), daemon=True).start()
time.sleep(0.2)
print("exiting", flush=True)

"""Run by test_lifecycle: a client warmed in the parent serves its cache in a forked child, and
the child's own refresher picks up a new version; the parent keeps working."""

import json
import os
import sys
import time
import urllib.request

import failsoft

url, control = sys.argv[1], sys.argv[2]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def sim(path, body):
    req = urllib.request.Request(control + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    opener.open(req, timeout=10).read()


def wait_for(predicate, timeout=5.0):
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if predicate():
            return True
        time.sleep(0.01)
    return False


client = failsoft.Client(failsoft.Http(url + "/kv/{key}"), ttl_seconds=0.2, cold_deadline_seconds=2)
assert client.get("greeting").version == 1
sim("/_sim/fault", {"route": "*", "mode": "refused"})

read_fd, write_fd = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(read_fd)
    code = 0
    try:
        started = time.monotonic()
        v = client.get("greeting", fallback="fallback")
        took = time.monotonic() - started
        assert v.value == {"text": "hello"} and not v.is_fallback, v
        assert took < 0.05, f"the child's first read took {took:.3f}s"
        os.write(write_fd, b"served\n")
        # The parent heals the backend and publishes version 2; the child's own threads fetch it.
        ok = wait_for(lambda: client.get("greeting").version == 2, timeout=8)
        assert ok, f"the child never saw version 2: {client.get('greeting')!r} {client.status()!r}"
        os.write(write_fd, b"refreshed\n")
    except BaseException as e:  # report, never fall back into the parent's code
        os.write(write_fd, f"error {e!r}\n".encode())
        code = 1
    finally:
        os._exit(code)

os.close(write_fd)
reader = os.fdopen(read_fd)
first = reader.readline().strip()
assert first == "served", first
sim("/_sim/fault", {"route": "*", "mode": "healthy"})
sim("/_sim/kv", {"key": "greeting", "value": {"text": "v2"}, "version": 2})
second = reader.readline().strip()
_, status = os.waitpid(pid, 0)
assert second == "refreshed", second
assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
# The parent's refresher was never torn down by the fork.
assert wait_for(lambda: client.get("greeting").version == 2, timeout=8), client.status()
client.close()
print("ok")

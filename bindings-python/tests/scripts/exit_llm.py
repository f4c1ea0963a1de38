"""Run by test_llm: the interpreter must exit promptly (and cleanly) while daemon threads wait
in LLM calls (a hung plain call and a stream between chunks), the GIL released."""

import sys
import threading
import time

import failsoft

url = sys.argv[1]
client = failsoft.OpenAI(base_url=url + "/t/primary/v1", api_key="sk-exit-0123456789", timeout=30)
messages = [{"role": "user", "content": "hi"}]


def call() -> None:
    client.chat.completions.create(model="m", messages=messages)


def stream() -> None:
    for _ in client.chat.completions.create(model="m", messages=messages, stream=True):
        pass


threading.Thread(target=call, daemon=True).start()
threading.Thread(target=stream, daemon=True).start()
time.sleep(0.3)
print("exiting", flush=True)

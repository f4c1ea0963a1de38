"""failsoft: remote prompts and configuration that stay available when the network or the
vendor fails.

A read never waits on the network once a key has a value, and never fails when the caller gave
a fallback. See ``Client``, ``Client.get_prompt``, ``Client.get_or_create_config`` and
``Client.get``; for LLM calls that fall over between targets, ``OpenAI``.
"""

from __future__ import annotations

import atexit as _atexit

from . import _native
from ._client import *
from ._config import *
from ._errors import *
from ._frozen import *
from ._llm import *
from ._native import Change, Prompt, Value, chat_variables, compile, compile_chat, variables
from ._sources import *

__version__: str = _native.__version__

# A literal list, though each module has its own: mypy and stubtest read no computed `__all__`.
__all__ = [
    "Client",
    "Config",
    "Prompt",
    "Value",
    "Change",
    "Http",
    "File",
    "Langfuse",
    "Opik",
    "Source",
    "Error",
    "NotFound",
    "Unauthorized",
    "Timeout",
    "Unavailable",
    "InvalidResponse",
    "InvalidArgument",
    "PrefetchError",
    "FrozenDict",
    "FrozenList",
    "thaw",
    "compile",
    "variables",
    "compile_chat",
    "chat_variables",
    "OpenAI",
    "OpenAICompatibleClient",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Stream",
    "ServedBy",
    "Attempt",
    "OpenAIObject",
]

# Before the interpreter finalizes: library threads stop touching Python (see lifecycle.rs).
_atexit.register(_native._shutdown)

# Public classes show (and pickle) as `failsoft.X`, wherever they are defined (native ones already do).
for _obj in [globals()[_name] for _name in __all__]:
    if isinstance(_obj, type) and _obj.__module__.startswith("failsoft._") and _obj.__module__ != _native.__name__:
        _obj.__module__ = __name__
del _obj

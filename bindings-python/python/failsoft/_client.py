"""``failsoft.Client``: the native client plus typed configs (the one part that is about
Python types)."""

from __future__ import annotations

import typing
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar, Union

from ._config import Config
from ._errors import InvalidArgument
from ._native import Client as _NativeClient
from ._native import Value

__all__ = ["Client"]

C = TypeVar("C", bound=Config)


class Client(_NativeClient):
    """A cache over one source that keeps serving when the source fails (SPEC §2-5)::

        client = failsoft.Client(failsoft.Langfuse(), ttl_seconds=60)
        prompt = client.get_prompt("movie-critic", fallback="Do you like {{movie}}?")

    Options left as ``None`` take their environment variables or defaults: ``ttl_seconds``
    (``FAILSOFT_TTL_SECONDS``, the source's own variable, else 300), ``cold_deadline_seconds``
    (5), ``snapshot_dir`` (``FAILSOFT_SNAPSHOT_DIR``), ``request_timeout_seconds`` (10),
    ``refresh_workers`` (4), ``keep_on_not_found`` (False), ``fleet`` (a dict: ``redis_url``
    (``FAILSOFT_REDIS_URL``), ``prefix``, ``mode``, ``on_store_down``, ``retention_seconds``;
    SPEC §10). Creating a client never touches the network. Use it as a context manager, or call ``close()``.
    """

    def get_or_create_config(
        self,
        fallback: Union[C, Callable[[], C]],
        env: Optional[str] = None,
        version: Union[str, int, None] = None,
        *,
        ttl_seconds: Optional[float] = None,
    ) -> C:
        """The config of the source's project, typed like ``fallback`` (SPEC §7, Opik semantics).

        ``fallback`` (a ``failsoft.Config`` instance, or a function returning one) declares the
        fields, creates the project's first config when the backend has none at all (only for
        the default env and ``version="latest"``; never for an explicit env), and is returned,
        with ``is_fallback`` true, when nothing is cached and the backend cannot answer. A config
        from the backend missing a declared field, or with a mistyped one, raises
        ``failsoft.InvalidResponse`` naming the field. The same object is returned while the
        config's version is unchanged.
        """
        memo: Optional[C] = None

        def resolve() -> C:  # the fallback function runs only when the fallback is needed
            nonlocal memo
            if memo is None:
                memo = _fallback_config(fallback)
            return memo

        value, key = self._read_config(lambda: resolve()._failsoft_json(), env, version, ttl_seconds)
        if value.is_fallback:
            return resolve()._as_fallback()
        # The typed config of each key is made once per value the native client hands out (the
        # same object while the version is unchanged), for the same fallback.
        token = type(fallback) if isinstance(fallback, Config) else fallback
        cache: Dict[str, Tuple[Value, Any, Any]] = self.__dict__.setdefault("_failsoft_configs", {})
        hit = cache.get(key)
        if hit is None or hit[0] is not value or hit[1] is not token:
            hit = cache[key] = (value, token, type(resolve())._from_value(value, key=key))
        return hit[2]


def _fallback_config(fallback: Union[C, Callable[[], C]]) -> C:
    """The fallback instance, calling a fallback function."""
    fb: Any = fallback() if callable(fallback) and not isinstance(fallback, Config) else fallback
    if not isinstance(fb, Config):
        raise InvalidArgument(
            f"fallback must be a failsoft.Config instance or a function returning one, got {type(fb).__name__}"
        )
    return typing.cast(C, fb)

"""``failsoft.Client``: the native client plus typed configs (the one part that is about
Python types)."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union

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
        memo: List[C] = []

        def resolve() -> C:
            if not memo:
                fb: Any = fallback
                if not isinstance(fb, Config) and callable(fb):
                    fb = fb()
                if not isinstance(fb, Config):
                    raise InvalidArgument(
                        "fallback must be a failsoft.Config instance or a function returning one, "
                        f"got {type(fb).__name__}"
                    )
                memo.append(fb)  # type: ignore[arg-type]
            return memo[0]

        value, key = self._read_config(lambda: resolve()._failsoft_json(), env, version, ttl_seconds)
        if value.is_fallback:
            return resolve()._as_fallback()
        token = type(fallback) if isinstance(fallback, Config) else fallback
        cache: Dict[Tuple[Optional[str], Union[str, int, None]], Tuple[Value, Any, Any]]
        cache = self.__dict__.setdefault("_failsoft_configs", {})
        hit = cache.get((env, version))
        if hit is not None and hit[0] is value and hit[1] is token:
            return hit[2]  # type: ignore[no-any-return]
        cfg = type(resolve())._from_value(value, key=key)
        cache[(env, version)] = (value, token, cfg)
        return cfg


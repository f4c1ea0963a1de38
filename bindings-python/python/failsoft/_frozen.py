"""Read-only containers for values shared between reads.

A warm read returns the same object to every caller while the value's version is unchanged, so
the containers inside it must not change under anyone's feet. ``FrozenDict`` and ``FrozenList``
are ``dict`` and ``list`` subclasses (``json.dumps``, ``isinstance`` and ``==`` with plain
containers work as usual) whose mutating methods raise ``TypeError``. ``thaw`` gives a plain,
mutable deep copy.
"""

from __future__ import annotations

from typing import Any, Dict, List, NoReturn

__all__ = ["FrozenDict", "FrozenList", "thaw"]


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        f"{type(self).__name__} is read-only: it is shared by every read of this value; "
        "use failsoft.thaw(value) for a mutable copy"
    )


class FrozenDict(Dict[str, Any]):
    """A read-only ``dict`` (JSON object) shared by every read of a cached value."""

    __slots__ = ()

    __setitem__ = _read_only
    __delitem__ = _read_only
    __ior__ = _read_only
    clear = _read_only
    pop = _read_only
    popitem = _read_only
    setdefault = _read_only
    update = _read_only

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: Dict[int, Any]) -> FrozenDict:
        return self

    def __reduce__(self) -> Any:
        return (FrozenDict, (dict(self),))

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


class FrozenList(List[Any]):
    """A read-only ``list`` (JSON array) shared by every read of a cached value."""

    __slots__ = ()

    __setitem__ = _read_only
    __delitem__ = _read_only
    __iadd__ = _read_only
    __imul__ = _read_only
    append = _read_only
    extend = _read_only
    insert = _read_only
    pop = _read_only
    remove = _read_only
    reverse = _read_only
    sort = _read_only
    clear = _read_only

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: Dict[int, Any]) -> FrozenList:
        return self

    def __reduce__(self) -> Any:
        return (FrozenList, (list(self),))

    def __repr__(self) -> str:
        return f"FrozenList({list.__repr__(self)})"


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of a value read from failsoft (dicts, lists and scalars)."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value

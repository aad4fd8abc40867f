"""Immutability and pickling helpers shared by the records: read-only arrays and mappings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np


def _thaw(value):
    """A record field as its constructor takes it: read-only mapping proxies become dicts."""
    if isinstance(value, (MappingProxyType, dict)):
        return {k: _thaw(v) for k, v in value.items()}
    return value


def _rebuild(cls, fields):
    return cls(**fields)


class _Picklable:
    """Pickling of a frozen record by its constructor (mapping proxies, which pickle cannot
    store, pass as dicts and are frozen again), so that records travel to worker processes."""

    def __reduce__(self):
        return _rebuild, (type(self), {f.name: _thaw(getattr(self, f.name)) for f in dataclasses.fields(self)})


def _frozen_array(a, *, dtype=None, name="array") -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def _frozen_mapping(m, *, dtype=None) -> Mapping[str, np.ndarray]:
    out = {}
    for key, value in dict(m or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"set and field names must be str, got {key!r}")
        out[key] = _frozen_array(value, dtype=dtype)
    return MappingProxyType(out)

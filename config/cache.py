"""The shared cache: Django's RedisCache, answering like an empty cache while Redis is down.

The cache holds the upload throttle's counts (and nothing that must not be lost): with Redis
unreachable, an upload must still be accepted and stored (it is graded when the broker is
back), not fail with a 500 from the throttle. So connection errors are logged and treated as
a miss, and writes are dropped, for the length of the outage.
"""
from __future__ import annotations

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


def _miss(name: str, default):
    def method(self, *args, **kwargs):
        try:
            return getattr(super(FailOpenRedisCache, self), name)(*args, **kwargs)
        except _DOWN as exc:
            log.warning("cache unavailable (%s: %s); %s() treated as a miss", type(exc).__name__, exc, name)
            return default(args, kwargs) if callable(default) else default
    method.__name__ = name
    return method


class FailOpenRedisCache(RedisCache):
    get = _miss("get", lambda args, kwargs: kwargs.get("default", args[1] if len(args) > 1 else None))
    get_many = _miss("get_many", {})
    has_key = _miss("has_key", False)
    set = _miss("set", None)
    add = _miss("add", False)
    touch = _miss("touch", False)
    set_many = _miss("set_many", [])
    delete = _miss("delete", False)
    delete_many = _miss("delete_many", None)

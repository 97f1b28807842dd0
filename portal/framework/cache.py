"""The Redis cache, failing open. A cache only saves work, so while Redis cannot be reached a
read is a miss and a write is dropped (and logged) instead of failing the page: Wagtail looks
up its site root paths in the cache for every page link, so without this a Redis outage
would fail every public page and every portal page with the site's navigation. After a
failure the cache is left alone for a few seconds, so a hung Redis costs each process one
timeout now and then rather than one per lookup. Counters (incr, decr) and clear() still
raise: a lost count or a clear that did not happen must not pass silently."""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

CACHE_UNREACHABLE = "The cache could not be reached; going without it for %d seconds: %s"
# How long the cache is left alone after it could not be reached.
RETRY_AFTER_SECONDS = 10
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

# Shared by every thread's cache instance (Django makes one per thread) in the process.
_skip = {"until": 0.0}
_skip_lock = threading.Lock()


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache, but an unreachable Redis means a miss (reads) or nothing done
    (writes) rather than an error."""

    def _try(self, operation, fallback, *args, **kwargs):
        if time.monotonic() < _skip["until"]:
            return fallback
        try:
            return operation(*args, **kwargs)
        except UNREACHABLE as error:
            with _skip_lock:
                _skip["until"] = time.monotonic() + RETRY_AFTER_SECONDS
            logger.warning(CACHE_UNREACHABLE, RETRY_AFTER_SECONDS, error)
            return fallback

    def get(self, key, default=None, version=None):
        return self._try(super().get, default, key, default, version)

    def get_many(self, keys, version=None):
        return self._try(super().get_many, {}, keys, version)

    def has_key(self, key, version=None):
        return self._try(super().has_key, False, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(super().add, False, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(super().set, None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(super().set_many, list(data), data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(super().touch, False, key, timeout, version)

    def delete(self, key, version=None):
        return self._try(super().delete, False, key, version)

    def delete_many(self, keys, version=None):
        return self._try(super().delete_many, None, keys, version)

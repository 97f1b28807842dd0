"""The Redis cache fails open (portal.framework.cache): against a real Redis the test starts
and stops, reads miss and writes are dropped while it is down, it is used again once it is
back, and a page with the site's navigation (which Wagtail looks up in the cache) still shows
while Django's own Redis cache would fail it."""

import logging
import time

import pytest
import redis

from portal.framework import cache as fail_open
from portal.framework.cache import CACHE_UNREACHABLE, FailOpenRedisCache

from ..page_factories import StandardIndexPageFactory
from ..test_faults import RedisServer, free_port, needs_redis_server

OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}


@pytest.fixture(autouse=True)
def cache_not_skipped(monkeypatch):
    """Each test starts with the cache in use, whatever an earlier test did to it."""
    monkeypatch.setitem(fail_open._skip, "until", 0.0)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@needs_redis_server
def test_while_redis_is_down_reads_miss_and_writes_are_dropped(own_redis, caplog):
    cache = FailOpenRedisCache(own_redis.url, {"OPTIONS": OPTIONS})
    cache.set("summary", "figures")
    assert cache.get("summary") == "figures"

    own_redis.stop()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="portal.framework.cache"):
        assert cache.get("summary", "not cached") == "not cached"
        assert cache.set("summary", "new figures") is None
        assert cache.get_many(["summary"]) == {}
        assert cache.get_or_set("paths", list) == []
        assert cache.add("summary", "x") is False
        assert cache.has_key("summary") is False
        assert cache.delete("summary") is False
    assert time.monotonic() - started < 2
    # One warning: after the first failure the cache is left alone for a while.
    assert [record.msg for record in caplog.records] == [CACHE_UNREACHABLE]


@needs_redis_server
def test_the_cache_is_used_again_once_redis_is_back(own_redis, monkeypatch):
    monkeypatch.setattr(fail_open, "RETRY_AFTER_SECONDS", 0.5)
    cache = FailOpenRedisCache(own_redis.url, {"OPTIONS": OPTIONS})
    own_redis.stop()
    assert cache.get("summary") is None

    own_redis.start()
    time.sleep(0.6)
    cache.set("summary", "figures")
    assert cache.get("summary") == "figures"
    assert redis.Redis(port=own_redis.port).dbsize() == 1


def test_counters_still_fail_loudly():
    cache = FailOpenRedisCache(f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": OPTIONS})
    with pytest.raises(redis.ConnectionError):
        cache.incr("sign-ins")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("backend", "status"),
    [
        ("portal.framework.cache.FailOpenRedisCache", 200),
        # Django's own: the reason for the one above.
        ("django.core.cache.backends.redis.RedisCache", 500),
    ],
)
def test_a_page_with_the_sites_navigation_shows_while_redis_is_down(
    client, settings, home_page, backend, status
):
    StandardIndexPageFactory(parent=home_page, slug="standards", title="Our standards")
    settings.CACHES = {
        "default": {
            "BACKEND": backend,
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": OPTIONS,
        }
    }
    client.raise_request_exception = False

    response = client.get("/")

    assert response.status_code == status
    if status == 200:
        assert "Our standards" in response.content.decode()

"""Sign-in throttling (django-axes), the sign-in log and session limits: a username tried
too often from one address is paused for the cool-off on both sign-in pages, with the same
page whether or not the account exists; every attempt is recorded without its password; a
session ends with the browser, after half an hour idle, and a working day after sign-in."""

import logging
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone

from portal.framework import security
from tests.factories import PASSWORD, UserFactory

WRONG = "not-the-password"


@pytest.fixture(autouse=True)
def throttled(settings):
    """django-axes on, as in production (test settings turn it off for Client.login)."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor1", roles=["Auditor"])


def sign_in(client, username, password, page="/accounts/login/", **extra):
    return client.post(page, {"username": username, "password": password}, **extra)


def fail(client, username, times, page="/accounts/login/", **extra):
    return [sign_in(client, username, WRONG, page, **extra).status_code for _ in range(times)]


def signed_in(client):
    return SESSION_KEY in client.session


@pytest.mark.django_db
def test_five_failures_pause_the_username_even_with_the_right_password(client, auditor):
    assert fail(client, "auditor1", 5) == [200, 200, 200, 200, 429]

    response = sign_in(client, "auditor1", PASSWORD)

    assert response.status_code == 429
    assert security.SIGN_IN_PAUSED.format(minutes=15) in response.text
    assert f"<title>{security.SIGN_IN_PAUSED_TITLE}" in response.text
    assert not signed_in(client)


@pytest.mark.django_db
def test_the_pause_says_the_same_for_a_username_that_does_not_exist(client, auditor):
    fail(client, "auditor1", 5)
    fail(client, "nobody-by-this-name", 5)

    real = sign_in(client, "auditor1", PASSWORD)
    unknown = sign_in(client, "nobody-by-this-name", PASSWORD)

    assert real.status_code == unknown.status_code == 429
    assert real.content == unknown.content
    assert b"auditor1" not in real.content


@pytest.mark.django_db
def test_wagtails_sign_in_page_is_throttled_too(client, auditor):
    statuses = fail(client, "auditor1", 5, page="/admin/login/")

    response = sign_in(client, "auditor1", PASSWORD, page="/admin/login/")

    assert statuses[-1] == response.status_code == 429
    assert security.SIGN_IN_PAUSED.format(minutes=15) in response.text
    assert not signed_in(client)


@pytest.mark.django_db
def test_only_that_username_from_that_address_is_paused(client, auditor):
    UserFactory(username="auditor2", roles=["Auditor"])
    fail(client, "auditor1", 5)

    from_elsewhere = sign_in(client, "auditor1", PASSWORD, REMOTE_ADDR="192.0.2.7")
    assert from_elsewhere.status_code == 302
    client.post("/accounts/logout/")
    colleague = sign_in(client, "auditor2", PASSWORD)
    assert colleague.status_code == 302


@pytest.mark.django_db
def test_after_the_cool_off_they_can_sign_in(client, auditor):
    fail(client, "auditor1", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    response = sign_in(client, "auditor1", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


@pytest.mark.django_db
def test_a_success_clears_earlier_failures(client, auditor):
    fail(client, "auditor1", 4)
    sign_in(client, "auditor1", PASSWORD)
    client.post("/accounts/logout/")

    assert fail(client, "auditor1", 4) == [200, 200, 200, 200]


@pytest.mark.django_db
def test_every_attempt_is_recorded_and_logged_without_its_password(client, auditor, caplog):
    with caplog.at_level(logging.INFO, logger="portal.security"):
        fail(client, "auditor1", 2)
        sign_in(client, "auditor1", PASSWORD)
        client.post("/accounts/logout/")

    assert AccessFailureLog.objects.filter(username="auditor1").count() == 2
    assert AccessLog.objects.filter(username="auditor1").count() == 1
    lines = [record.getMessage() for record in caplog.records if record.name == "portal.security"]
    assert lines == [
        "sign-in failed: username=auditor1 address=127.0.0.1 path=/accounts/login/",
        "sign-in failed: username=auditor1 address=127.0.0.1 path=/accounts/login/",
        "sign-in succeeded: username=auditor1 address=127.0.0.1 path=/accounts/login/",
        "signed out: username=auditor1 address=127.0.0.1",
    ]
    stored = " ".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert WRONG not in caplog.text + stored
    assert PASSWORD not in caplog.text + stored


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_address_is_the_one_throttled(
    client, auditor, settings
):
    # The first address is whatever the client claimed; the last is the one the proxy saw.
    forwarded = {"HTTP_X_FORWARDED_FOR": "198.51.100.4, 203.0.113.9", "REMOTE_ADDR": "10.0.0.1"}
    fail(client, "auditor1", 1, **forwarded)
    assert AccessAttempt.objects.get().ip_address == "10.0.0.1"

    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    fail(client, "auditor1", 1, **forwarded)
    assert AccessAttempt.objects.filter(ip_address="203.0.113.9").exists()
    assert not AccessAttempt.objects.filter(ip_address="198.51.100.4").exists()


# Sessions on shared computers


@pytest.mark.django_db
def test_the_session_ends_with_the_browser_and_after_half_an_hour_idle(client, auditor):
    response = sign_in(client, "auditor1", PASSWORD)

    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""
    assert cookie["httponly"]
    session = Session.objects.get(session_key=cookie.value)
    assert abs(session.expire_date - (timezone.now() + timedelta(minutes=30))) < timedelta(
        minutes=1
    )
    # Half an hour later with nothing in between, the session is over.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now())
    assert client.get("/audits/")["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_wagtails_remember_me_does_not_outlive_the_browser(client):
    UserFactory(username="qalead1", roles=["QA lead"])
    remembered = client.post(
        "/admin/login/", {"username": "qalead1", "password": PASSWORD, "remember": "on"}
    )
    assert remembered.cookies[django_settings.SESSION_COOKIE_NAME]["max-age"] == 1800

    response = client.get("/admin/")

    assert response.status_code == 200
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""


@pytest.mark.django_db
def test_each_minute_of_use_pushes_the_idle_expiry_on(client, auditor):
    sign_in(client, "auditor1", PASSWORD)
    session = client.session
    session[security.SEEN_AT] = int(time.time()) - 120
    session.save()
    Session.objects.filter(pk=session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=28)
    )

    assert client.get("/audits/").status_code == 200

    expiry = Session.objects.get(pk=client.session.session_key).expire_date
    assert expiry > timezone.now() + timedelta(minutes=29)


@pytest.mark.django_db
def test_a_busy_session_still_ends_a_working_day_after_signing_in(client, auditor, caplog):
    sign_in(client, "auditor1", PASSWORD)
    session = client.session
    session[security.SIGNED_IN_AT] = int(time.time()) - 10 * 60 * 60 - 1
    session[security.SEEN_AT] = int(time.time())
    session.save()

    with caplog.at_level(logging.INFO, logger="portal.security"):
        response = client.get("/audits/")

    assert response["Location"].startswith("/accounts/login/")
    assert not signed_in(client)
    assert "session ended after 10 hours: username=auditor1" in caplog.text


@pytest.mark.django_db
def test_the_health_check_still_touches_no_session(
    client, auditor, settings, django_assert_num_queries
):
    settings.PORTAL_REQUIRE_SECOND_FACTOR = True
    client.force_login(auditor)

    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200

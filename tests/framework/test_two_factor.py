"""Staff sign-in's second factor: with it required, a signed-in person is held at set-up or
verification (wherever they signed in) until they give a code from their authenticator app
or a recovery code; set-up shows the QR code and the key, then recovery codes once; wrong
codes are throttled; a lost phone is reset by a command. The whole journey in Chromium is in
test_two_factor_browser.py."""

import logging
import re
from base64 import b32encode
from datetime import timedelta
from io import StringIO
from urllib.parse import quote

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.framework import security, two_factor
from portal.framework.management.commands import reset_second_factor
from tests.factories import PASSWORD, UserFactory

SET_UP = "/accounts/two-factor/set-up/"
VERIFY = "/accounts/two-factor/verify/"
RECOVERY_CODES = "/accounts/two-factor/recovery-codes/"


def app_code(device, steps_ahead=0):
    """The code the person's authenticator app shows now (or a step or more later)."""
    device.refresh_from_db()
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead)
    return f"{code:0{device.digits}d}"


def enrolled(user):
    """The person with a confirmed authenticator app and a set of recovery codes."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app")
    return device, two_factor.recovery_codes_issue(user)


def with_next(path, next_to):
    return f"{path}?next={quote(next_to, safe='')}"


@pytest.fixture
def required(settings):
    settings.PORTAL_REQUIRE_SECOND_FACTOR = True


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor1", roles=["Auditor"])


@pytest.fixture
def qa_lead(db):
    return UserFactory(username="qalead1", roles=["QA lead"])


# Rules


def test_the_key_is_written_out_as_apps_expect_it_in_groups_of_four():
    groups = two_factor.key_groups("3132333435363738393031323334353637383930")

    assert "".join(groups) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert all(len(group) == 4 for group in groups)


def test_codes_are_read_as_people_type_them():
    assert two_factor.code_normalise(" 123 456 ") == "123456"
    assert two_factor.code_normalise("ABCD-EF23") == "abcdef23"
    assert two_factor.is_app_code("123456")
    assert not two_factor.is_app_code("abcdef23")
    assert not two_factor.is_app_code("12345")


def test_waits_are_described_in_words_rounded_up():
    assert two_factor.wait_described(0.2) == "1 second"
    assert two_factor.wait_described(7.1) == "8 seconds"
    assert two_factor.wait_described(300) == "5 minutes"


# Being held until a code is given


def test_without_the_requirement_a_password_is_enough(client, auditor):
    client.force_login(auditor)

    assert client.get("/audits/").status_code == 200


@pytest.mark.usefixtures("required")
def test_someone_without_an_app_is_sent_to_set_one_up_keeping_the_page_they_asked_for(
    client, auditor
):
    client.force_login(auditor)

    response = client.get("/audits/?cycle=2")

    assert response.status_code == 302
    assert response["Location"] == with_next(SET_UP, "/audits/?cycle=2")


@pytest.mark.usefixtures("required")
def test_someone_with_an_app_is_asked_for_a_code_before_the_admin(client, qa_lead):
    enrolled(qa_lead)
    client.force_login(qa_lead)

    response = client.get("/admin/pages/")

    assert response["Location"] == with_next(VERIFY, "/admin/pages/")


@pytest.mark.usefixtures("required")
def test_signing_in_on_wagtails_own_page_leads_to_verification_then_the_admin(client, qa_lead):
    device, _ = enrolled(qa_lead)

    response = client.post(
        "/admin/login/", {"username": "qalead1", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == with_next(VERIFY, "/admin/")
    assert "Enter the code from your authenticator app" in response.text

    response = client.post(VERIFY, {"code": app_code(device), "next": "/admin/"})

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.usefixtures("required")
def test_sign_out_health_check_and_static_files_are_not_held(client, auditor):
    client.force_login(auditor)

    assert client.get("/healthz").status_code == 200
    assert client.get("/static/portal/portal.css").status_code != 302
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/"
    assert SESSION_KEY not in client.session


# Setting up an app


@pytest.mark.usefixtures("required")
def test_set_up_shows_the_qr_code_and_the_same_key_written_out(client, auditor):
    client.force_login(auditor)

    page = client.get(with_next(SET_UP, "/audits/")).text

    device = TOTPDevice.objects.get(user=auditor, confirmed=False)
    key = b32encode(device.bin_key).decode()
    qr_code = re.search(r'<img src="(data:image/svg\+xml[^"]+)"[^>]*alt="([^"]+)"', page)
    assert qr_code, "no QR code image"
    assert "QR code" in qr_code.group(2)
    written_out = re.search(r"Setup key: </span>(.*?)</p>", page, re.S).group(1)
    assert re.sub(r"<[^>]+>|\s", "", written_out) == key
    assert 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page
    # Reloading the page shows the same key, so a half-finished set-up still works.
    assert key in re.sub(r"<[^>]+>|\s", "", client.get(SET_UP).text)
    assert TOTPDevice.objects.filter(user=auditor).count() == 1


@pytest.mark.usefixtures("required")
def test_a_wrong_code_leaves_the_app_unconfirmed_and_says_why(client, auditor):
    client.force_login(auditor)
    client.get(SET_UP)

    response = client.post(SET_UP, {"code": "000000", "next": "/audits/"})

    assert response.status_code == 200
    assert two_factor.ENROL_CODE_WRONG in response.text
    assert "<title>Error: Set up your authenticator app" in response.text
    assert not TOTPDevice.objects.filter(user=auditor, confirmed=True).exists()
    assert client.get("/audits/")["Location"].startswith(SET_UP)


@pytest.mark.usefixtures("required")
def test_the_right_code_confirms_the_app_and_shows_recovery_codes_once(client, auditor):
    client.force_login(auditor)
    client.get(SET_UP)
    device = TOTPDevice.objects.get(user=auditor)

    response = client.post(SET_UP, {"code": app_code(device), "next": "/audits/"})

    assert response["Location"] == with_next(RECOVERY_CODES, "/audits/")
    page = client.get(response["Location"]).text
    shown = re.findall(r"<code>([a-z2-7]{4})-([a-z2-7]{4})</code>", page)
    stored = set(StaticToken.objects.filter(device__user=auditor).values_list("token", flat=True))
    assert len(shown) == two_factor.RECOVERY_CODE_COUNT == 10
    assert {first + second for first, second in shown} == stored
    assert 'href="/audits/"' in page
    # Shown once: the page now only counts them.
    again = client.get(RECOVERY_CODES).text
    assert "<code>" not in again
    assert "Unused recovery codes: 10" in again
    assert client.get("/audits/").status_code == 200


@pytest.mark.usefixtures("required")
def test_someone_with_an_app_cannot_set_up_another_without_a_code(client, auditor):
    enrolled(auditor)
    client.force_login(auditor)

    response = client.get(with_next(SET_UP, "/audits/"))

    assert response["Location"] == with_next(VERIFY, "/audits/")
    assert TOTPDevice.objects.filter(user=auditor).count() == 1


# Verifying


@pytest.mark.usefixtures("required")
def test_the_apps_code_lets_them_in_with_a_new_session_key(client, auditor, caplog):
    device, _ = enrolled(auditor)
    client.force_login(auditor)
    before = client.session.session_key
    code = app_code(device)

    with caplog.at_level(logging.INFO, logger="portal.security"):
        response = client.post(VERIFY, {"code": code, "next": "/audits/"})

    assert response["Location"] == "/audits/"
    assert client.session.session_key != before
    assert client.get("/audits/").status_code == 200
    assert "second factor verified: username=auditor1" in caplog.text
    assert "method=authenticator-app" in caplog.text
    assert code not in caplog.text


def test_the_footer_links_to_recovery_codes_once_a_code_was_given(client, auditor):
    device, _ = enrolled(auditor)
    client.force_login(auditor)
    link = f'href="{RECOVERY_CODES}">Recovery codes for signing in</a>'
    # Signed in with a password alone (where that is allowed): no codes to look after.
    assert link not in client.get("/audits/").content.decode()

    client.post(VERIFY, {"code": app_code(device), "next": "/audits/"})

    assert link in client.get("/audits/").content.decode()


@pytest.mark.usefixtures("required")
def test_a_next_page_on_another_site_is_ignored(client, auditor):
    device, _ = enrolled(auditor)
    client.force_login(auditor)

    response = client.post(VERIFY, {"code": app_code(device), "next": "https://evil.example/steal"})

    assert response["Location"] == reverse("my_audits")


@pytest.mark.usefixtures("required")
def test_a_wrong_code_is_refused_and_logged_without_the_code(client, auditor, caplog):
    enrolled(auditor)
    client.force_login(auditor)

    with caplog.at_level(logging.INFO, logger="portal.security"):
        response = client.post(VERIFY, {"code": "012345", "next": "/audits/"})

    assert response.status_code == 200
    assert two_factor.APP_CODE_WRONG in response.text
    assert "second factor failed: username=auditor1" in caplog.text
    assert "reason=wrong code" in caplog.text
    assert "012345" not in caplog.text
    assert client.get("/audits/")["Location"].startswith(VERIFY)


@pytest.mark.usefixtures("required")
def test_after_a_wrong_code_even_the_right_one_waits(client, auditor):
    device, _ = enrolled(auditor)
    client.force_login(auditor)
    client.post(VERIFY, {"code": "012345"})

    refused = client.post(VERIFY, {"code": app_code(device), "next": "/audits/"})

    assert refused.status_code == 200
    assert two_factor.TOO_MANY_CODES.split("{")[0] in refused.text
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # Once the wait is over, the right code works.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=10)
    )
    accepted = client.post(VERIFY, {"code": app_code(device), "next": "/audits/"})
    assert accepted["Location"] == "/audits/"


@pytest.mark.usefixtures("required")
def test_repeated_wrong_codes_make_the_wait_longer(client, auditor):
    device, _ = enrolled(auditor)
    client.force_login(auditor)
    for failures in range(1, 6):
        # Each wrong code is tried after the previous wait, so it counts.
        TOTPDevice.objects.filter(pk=device.pk).update(
            throttling_failure_timestamp=timezone.now() - timedelta(hours=1)
        )
        client.post(VERIFY, {"code": "012345"})
        device.refresh_from_db()
        assert device.throttling_failure_count == failures

    response = client.post(VERIFY, {"code": app_code(device)})

    # 2 ** (5 - 1) seconds after the fifth wrong code in a row.
    assert "Wait 16 seconds, then try again" in response.text


@pytest.mark.usefixtures("required")
def test_a_recovery_code_works_once_however_it_is_typed(client, auditor, caplog):
    _, codes = enrolled(auditor)
    client.force_login(auditor)
    typed = two_factor.recovery_code_display(codes[3]).upper()

    with caplog.at_level(logging.INFO, logger="portal.security"):
        response = client.post(VERIFY, {"code": typed, "recovery": "1", "next": "/audits/"})

    assert response["Location"] == f"{RECOVERY_CODES}?used=1&next=%2Faudits%2F"
    page = client.get(response["Location"]).text
    assert two_factor.RECOVERY_CODE_USED in page
    assert "Unused recovery codes: 9" in page
    assert not StaticToken.objects.filter(token=codes[3]).exists()
    assert "method=recovery-code" in caplog.text
    assert codes[3] not in caplog.text

    client.post("/accounts/logout/")
    client.force_login(auditor)
    again = client.post(VERIFY, {"code": codes[3], "recovery": "1"})
    assert two_factor.RECOVERY_CODE_WRONG in again.text


@pytest.mark.usefixtures("required")
def test_a_new_set_of_recovery_codes_replaces_the_old_one(client, auditor):
    device, old_codes = enrolled(auditor)
    client.force_login(auditor)
    client.post(VERIFY, {"code": app_code(device)})

    response = client.post(RECOVERY_CODES, {"next": "/audits/"})

    page = client.get(response["Location"]).text
    new_codes = {a + b for a, b in re.findall(r"<code>(\w{4})-(\w{4})</code>", page)}
    assert len(new_codes) == 10
    assert not new_codes & set(old_codes)
    assert not StaticToken.objects.filter(token__in=old_codes).exists()
    assert StaticDevice.objects.filter(user=auditor).count() == 1


@pytest.mark.usefixtures("required")
def test_recovery_codes_page_asks_for_a_code_first(client, auditor):
    enrolled(auditor)
    client.force_login(auditor)

    response = client.post(RECOVERY_CODES)

    assert response["Location"].startswith(VERIFY)
    assert StaticToken.objects.filter(device__user=auditor).count() == 10


# A lost phone


@pytest.mark.usefixtures("required")
def test_reset_removes_the_app_and_codes_and_ends_their_sessions(client, auditor, caplog):
    device, _ = enrolled(auditor)
    client.force_login(auditor)
    client.post(VERIFY, {"code": app_code(device)})
    out = StringIO()

    with caplog.at_level(logging.INFO, logger="portal.security"):
        call_command("reset_second_factor", "auditor1", stdout=out)

    assert reset_second_factor.RESET_DONE.format(username="auditor1") in out.getvalue()
    assert not TOTPDevice.objects.filter(user=auditor).exists()
    assert not StaticDevice.objects.filter(user=auditor).exists()
    assert "second factor reset: username=auditor1" in caplog.text
    # The session left open is over: the password is needed again, then a new app.
    assert client.get("/audits/")["Location"].startswith("/accounts/login/")
    client.post("/accounts/login/", {"username": "auditor1", "password": PASSWORD})
    assert client.get("/audits/")["Location"].startswith(SET_UP)


def test_reset_of_someone_unknown_says_so(db):
    with pytest.raises(CommandError) as error:
        call_command("reset_second_factor", "nobody", stdout=StringIO())

    assert str(error.value) == reset_second_factor.NO_SUCH_USER.format(username="nobody")


def test_deployment_check_warns_when_a_password_alone_would_do(settings):
    settings.PORTAL_REQUIRE_SECOND_FACTOR = True
    assert security.second_factor_required_check(None) == []

    settings.PORTAL_REQUIRE_SECOND_FACTOR = False
    (warning,) = security.second_factor_required_check(None)
    assert warning.id == "portal.W001"
    assert warning.msg == security.SECOND_FACTOR_OFF

"""Staff sign-in's second factor, with django-otp: an authenticator app (TOTP) set up by
scanning a QR code or typing its key, ten one-time recovery codes for when the phone is lost,
and a middleware that holds every signed-in person at the verification (or set-up) page until
they have given a code, wherever they signed in (the portal's page or Wagtail's admin)."""

import logging
import math
from base64 import b32encode
from importlib import import_module
from urllib.parse import urlencode, urlsplit

import segno
from django import forms
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.contrib.sessions.models import Session
from django.db import transaction
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .security import sign_in_address

logger = logging.getLogger("portal.security")

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
# Recovery codes just made, kept in the session only until the page that shows them once.
NEW_RECOVERY_CODES = "portal_new_recovery_codes"

APP_CODE_MISSING = "Enter the 6-digit code from your authenticator app"
RECOVERY_CODE_MISSING = "Enter one of your recovery codes"
ENROL_CODE_WRONG = (
    "The code is not right. Check that you added the key on this page to your app, then "
    "enter the code it shows now"
)
APP_CODE_WRONG = "The code is not right. Enter the code your authenticator app shows now"
RECOVERY_CODE_WRONG = "The recovery code is not right, or it has already been used"
TOO_MANY_CODES = "Too many wrong codes have been entered. Wait {wait}, then try again"
RECOVERY_CODE_USED = "You signed in with a recovery code, so that code will not work again."


# Rules: plain functions over strings and numbers.


def key_groups(key_hex):
    """An authenticator key as people type it into an app: base32, in groups of four."""
    secret = b32encode(bytes.fromhex(key_hex)).decode("ascii").rstrip("=")
    return [secret[start : start + 4] for start in range(0, len(secret), 4)]


def code_normalise(text):
    """A code as typed, without the spaces and hyphens people add, in lower case."""
    return "".join(text.split()).replace("-", "").lower()


def is_app_code(code):
    """An authenticator app's code is six digits; anything else is taken as a recovery code."""
    return len(code) == 6 and code.isdigit()


def recovery_code_display(token):
    """A recovery code split in two halves, easier to read out and copy."""
    return f"{token[:4]}-{token[4:]}"


def wait_described(seconds):
    """How long to wait, in words, rounded up."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return f"{seconds} seconds" if seconds != 1 else "1 second"
    return f"{math.ceil(seconds / 60)} minutes"


# Selectors and services.


class CodeRefused(Exception):
    """A code was not accepted: the message for the person, and a reason for the log."""

    def __init__(self, message, reason):
        super().__init__(message)
        self.reason = reason


def second_factor_enrolled(user):
    """Whether the person has a confirmed authenticator app (so is asked for its code)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_device_start(user):
    """The authenticator app being set up: kept, unconfirmed, until a code from it is
    entered, so the QR code stays the same if the page is reloaded."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def _refuse_if_throttled(device):
    allowed, details = device.verify_is_allowed()
    if not allowed:
        wait = (details["locked_until"] - timezone.now()).total_seconds()
        raise CodeRefused(TOO_MANY_CODES.format(wait=wait_described(wait)), "too many attempts")


def totp_device_confirm(device, code):
    """Confirm the app being set up with a code from it, or raise CodeRefused; wrong codes
    are throttled as at verification."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        _refuse_if_throttled(device)
        verified = device.verify_token(code_normalise(code))
        if verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    # Outside the transaction, so that the failure counted by verify_token is kept.
    if not verified:
        raise CodeRefused(ENROL_CODE_WRONG, "wrong code")
    return device


def recovery_codes_issue(user):
    """A fresh set of one-time recovery codes, replacing any earlier set; returns them so
    they can be shown once."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME)
        tokens = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=t) for t in tokens)
    return tokens


def recovery_codes_left(user):
    """How many of the person's recovery codes are still unused."""
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def second_factor_verify(user, code):
    """The device that accepts a code from the person's authenticator app or one of their
    recovery codes (which is then used up), or CodeRefused. django-otp's back-off refuses
    even a right code for a while after wrong ones."""
    code = code_normalise(code)
    app = is_app_code(code)
    model = TOTPDevice if app else StaticDevice
    with transaction.atomic():
        devices = model.objects.devices_for_user(user, confirmed=True).select_for_update()
        for device in devices.order_by("pk"):
            _refuse_if_throttled(device)
            if device.verify_token(code):
                return device
    raise CodeRefused(APP_CODE_WRONG if app else RECOVERY_CODE_WRONG, "wrong code")


def second_factor_reset(user):
    """Remove the person's authenticator app and recovery codes and end their sessions, so
    they sign in with their password and set up a new app (a session left open, perhaps on
    the lost phone, could otherwise set one up without the password). Returns how many
    devices (app and recovery-code set) went."""
    with transaction.atomic():
        apps = TOTPDevice.objects.filter(user=user)
        code_sets = StaticDevice.objects.filter(user=user)
        removed = apps.count() + code_sets.count()
        apps.delete()
        code_sets.delete()
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            store(session.session_key).delete()
    return removed


# Forms.


class CodeForm(forms.Form):
    """One code field; the service that checks it is given by the view."""

    code = forms.CharField(max_length=40, strip=True)

    def __init__(self, *args, check, missing, **kwargs):
        super().__init__(*args, **kwargs)
        self.check = check
        self.device = None
        self.failure = None
        self.fields["code"].error_messages["required"] = missing

    def clean_code(self):
        try:
            self.device = self.check(self.cleaned_data["code"])
        except CodeRefused as refused:
            self.failure = refused.reason
            raise forms.ValidationError(str(refused)) from None
        return self.cleaned_data["code"]


# Where to go next.


def _two_factor_paths():
    return {
        reverse("two_factor_enrol"),
        reverse("two_factor_verify"),
        reverse("two_factor_recovery_codes"),
    }


def next_url(request):
    """The page the person asked for (from ?next= or the form), if it is on this site and
    not a two-factor page itself; otherwise the page after signing in."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if url and safe and urlsplit(url).path not in _two_factor_paths():
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(name, next_to, **query):
    return f"{reverse(name)}?{urlencode({**query, 'next': next_to})}"


def second_factor_url(user, next_to):
    """Where a signed-in person who has not given a code yet is sent: verification if they
    have an authenticator app, set-up if not."""
    name = "two_factor_verify" if second_factor_enrolled(user) else "two_factor_enrol"
    return _with_next(name, next_to)


def _second_factor_login(request, device):
    # A new session key once the second factor is given, as Django does at sign-in.
    request.session.cycle_key()
    otp_login(request, device)


def _is_verified(request):
    return getattr(request.user, "is_verified", lambda: False)()


def _log(message, request, **details):
    extra = "".join(f" {key}={value}" for key, value in details.items())
    logger.log(
        logging.WARNING if message.endswith("failed") else logging.INFO,
        "%s: username=%s address=%s%s",
        message,
        request.user.get_username(),
        sign_in_address(request),
        extra,
    )


# Views.


@never_cache
@login_required
def enrol(request):
    """Set up an authenticator app: scan the QR code or type the key, then enter a code."""
    next_to = next_url(request)
    if second_factor_enrolled(request.user):
        if _is_verified(request):
            return redirect(next_to)
        return redirect(_with_next("two_factor_verify", next_to))
    device = totp_device_start(request.user)
    form = CodeForm(
        request.POST or None,
        check=lambda code: totp_device_confirm(device, code),
        missing=APP_CODE_MISSING,
    )
    if request.method == "POST":
        if form.is_valid():
            _second_factor_login(request, form.device)
            request.session[NEW_RECOVERY_CODES] = recovery_codes_issue(request.user)
            _log("second factor set up", request)
            return redirect(_with_next("two_factor_recovery_codes", next_to))
        _log("second factor set-up failed", request, reason=form.failure or "no code")
    qr_code = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "next": next_to,
        "qr_code": qr_code.svg_data_uri(scale=5, border=4, dark="#0b0c0c", light="#ffffff"),
        "qr_size": qr_code.symbol_size(scale=5, border=4)[0],
        "key_groups": key_groups(device.key),
    }
    return render(request, "registration/two_factor_enrol.html", context)


@never_cache
@login_required
def verify(request):
    """Give a code from the authenticator app, or (?recovery=1) a recovery code."""
    next_to = next_url(request)
    if _is_verified(request):
        return redirect(next_to)
    if not second_factor_enrolled(request.user):
        return redirect(_with_next("two_factor_enrol", next_to))
    recovery = (request.POST or request.GET).get("recovery") == "1"
    form = CodeForm(
        request.POST or None,
        check=lambda code: second_factor_verify(request.user, code),
        missing=RECOVERY_CODE_MISSING if recovery else APP_CODE_MISSING,
    )
    if request.method == "POST":
        if form.is_valid():
            _second_factor_login(request, form.device)
            if isinstance(form.device, StaticDevice):
                _log("second factor verified", request, method="recovery-code")
                return redirect(_with_next("two_factor_recovery_codes", next_to, used="1"))
            _log("second factor verified", request, method="authenticator-app")
            return redirect(next_to)
        _log("second factor failed", request, reason=form.failure or "no code")
    other_way = {} if recovery else {"recovery": "1"}
    context = {
        "form": form,
        "next": next_to,
        "recovery": recovery,
        "other_way": _with_next("two_factor_verify", next_to, **other_way),
    }
    return render(request, "registration/two_factor_verify.html", context)


@never_cache
@login_required
def recovery_codes(request):
    """Show new recovery codes once, or how many are left with a way to make a new set."""
    next_to = next_url(request)
    if not _is_verified(request):
        return redirect(second_factor_url(request.user, next_to))
    if request.method == "POST":
        request.session[NEW_RECOVERY_CODES] = recovery_codes_issue(request.user)
        _log("recovery codes replaced", request)
        return redirect(_with_next("two_factor_recovery_codes", next_to))
    codes = request.session.pop(NEW_RECOVERY_CODES, None)
    left = recovery_codes_left(request.user)
    context = {
        "codes": [recovery_code_display(code) for code in codes] if codes else None,
        "left": left,
        "used_message": RECOVERY_CODE_USED if request.GET.get("used") else "",
        "next": next_to,
    }
    return render(request, "registration/two_factor_recovery_codes.html", context)


# Middleware.


class SecondFactorMiddleware:
    """With PORTAL_REQUIRE_SECOND_FACTOR on, send a signed-in person who has not given a
    code to verification (or to set-up, if they have no app yet), keeping the page they
    asked for in ?next=. Sign-out, the two-factor pages, static and media files and /healthz
    are let through. Goes after django-otp's OTPMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.PORTAL_REQUIRE_SECOND_FACTOR and not self.exempt(request.path):
            user = request.user
            if user.is_authenticated and not user.is_verified():
                return redirect(second_factor_url(user, request.get_full_path()))
        return self.get_response(request)

    @staticmethod
    def exempt(path):
        prefixes = tuple(prefix for prefix in (settings.STATIC_URL, settings.MEDIA_URL) if prefix)
        pages = _two_factor_paths() | {
            reverse("logout"),
            reverse("wagtailadmin_logout"),
            reverse("healthz"),
        }
        return path in pages or path.startswith(prefixes)

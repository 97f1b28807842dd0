"""Hardening around staff sign-in and every response: the sign-in log, the lockout page that
django-axes shows, a Content-Security-Policy loosened only for Wagtail's admin, a
Permissions-Policy header, a cap on a session's age, and a deployment check that production
asks for a second factor. Imported when the framework app is ready, which connects the
signal receivers and registers the check."""

import logging
import math
import time

from axes.helpers import get_cool_off
from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core import checks
from django.dispatch import receiver
from django.shortcuts import render
from django.urls import reverse

logger = logging.getLogger("portal.security")

SIGN_IN_PAUSED_TITLE = "Signing in is paused"
SIGN_IN_PAUSED = (
    "There have been too many unsuccessful attempts to sign in with that username from this "
    "computer or network. For your security, signing in with it from here is paused for "
    "{minutes} minutes."
)
SIGN_IN_PAUSED_NEXT = (
    "Try again after that. If you have forgotten your password, ask the portal's "
    "administrators to reset it."
)
SECOND_FACTOR_OFF = (
    "PORTAL_REQUIRE_SECOND_FACTOR is off, or its middleware is missing: staff could sign in "
    "with a password alone."
)
SECOND_FACTOR_MIDDLEWARE = [
    "django_otp.middleware.OTPMiddleware",
    "portal.framework.two_factor.SecondFactorMiddleware",
]

# When the session began and when its idle expiry was last pushed on, in seconds since the
# epoch (SessionLifetimeMiddleware).
SIGNED_IN_AT = "portal_signed_in_at"
SEEN_AT = "portal_seen_at"
SEEN_EVERY_SECONDS = 60

# What Wagtail 8's admin needs beyond the site's policy, found by loading its screens in
# Chromium under the strict policy (tests/test_security_headers_browser.py keeps them free of
# violations): a few inline <script> elements (the date pickers in listing filters) and inline
# <script> and <style> elements its editor's libraries insert. Only elements are allowed, not
# inline event handlers or style="" attributes (script-src and style-src stay 'self'); page
# previews are framed by the admin itself; nothing from another origin is allowed.
ADMIN_PREFIX = "/admin/"
ADMIN_POLICY_UPDATE = {
    "script-src-elem": [SELF, UNSAFE_INLINE],
    "style-src-elem": [SELF, UNSAFE_INLINE],
}
ADMIN_POLICY_REPLACE = {"frame-ancestors": [SELF]}


def sign_in_address(request):
    """The address a sign-in came from, for throttling and the log: the nearest trusted
    proxy's view of it when PORTAL_TRUSTED_PROXY_COUNT proxies stand in front."""
    hops = settings.PORTAL_TRUSTED_PROXY_COUNT
    if hops:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
        if len(addresses) >= hops:
            return addresses[-hops]
    return request.META.get("REMOTE_ADDR")


def sign_in_locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout response: the same page (HTTP 429) whether or not the username
    exists, so it tells an attacker nothing about accounts."""
    minutes = math.ceil(get_cool_off(request).total_seconds() / 60)
    context = {
        "title": SIGN_IN_PAUSED_TITLE,
        "message": SIGN_IN_PAUSED.format(minutes=minutes),
        "next_step": SIGN_IN_PAUSED_NEXT,
    }
    return render(request, "registration/locked_out.html", context, status=429)


@receiver(user_logged_in, dispatch_uid="portal_security_signed_in")
def log_signed_in(sender, request, user, **kwargs):
    """Log a successful password sign-in, and note when it began for the session's cap."""
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = int(time.time())
    logger.info(
        "sign-in succeeded: username=%s address=%s path=%s",
        user.get_username(),
        _address(request),
        _path(request),
    )


@receiver(user_login_failed, dispatch_uid="portal_security_sign_in_failed")
def log_sign_in_failed(sender, credentials, request=None, **kwargs):
    """Log a failed sign-in by the username tried; Django has already masked the password,
    and only the username is taken from the credentials."""
    logger.warning(
        "sign-in failed: username=%s address=%s path=%s",
        credentials.get("username", ""),
        _address(request),
        _path(request),
    )


@receiver(user_logged_out, dispatch_uid="portal_security_signed_out")
def log_signed_out(sender, request, user, **kwargs):
    """Log a sign-out (user is None when the session had already ended)."""
    logger.info(
        "signed out: username=%s address=%s",
        user.get_username() if user is not None else "",
        _address(request),
    )


def _address(request):
    return sign_in_address(request) if request is not None else ""


def _path(request):
    return request.path if request is not None else ""


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware with the site's strict policy everywhere but Wagtail's admin,
    which gets ADMIN_POLICY_UPDATE and ADMIN_POLICY_REPLACE on top (unless a view set its
    own with django-csp's decorators). A page previewed in the admin is rendered through the
    middleware by Wagtail with a request of its own (marked is_dummy) for the page's public
    URL: it keeps the public policy, so a preview shows what readers would see, but may be
    framed by the admin."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        in_admin = request.path_info.startswith(ADMIN_PREFIX)
        preview = getattr(request, "is_dummy", False)
        if report_only or not (in_admin or preview):
            return parts
        update = ADMIN_POLICY_UPDATE if in_admin and parts.update is None else parts.update
        return PolicyParts(
            config=parts.config,
            update=update,
            replace=parts.replace if parts.replace is not None else ADMIN_POLICY_REPLACE,
            nonce=parts.nonce,
        )


class PermissionsPolicyMiddleware:
    """Send PORTAL_PERMISSIONS_POLICY, turning off browser features (camera, location...)
    that no page uses, so injected content could not use them either."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PORTAL_PERMISSIONS_POLICY)
        return response


class SessionLifetimeMiddleware:
    """A signed-in session's limits. Idle: a request more than SEEN_EVERY_SECONDS after the
    last one noted saves the session, which pushes its expiry SESSION_COOKIE_AGE on.
    Absolute: PORTAL_SESSION_MAX_HOURS after signing in it ends, however busy it has been.
    And its cookie always ends with the browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The health check promises to touch neither the session nor the database.
        if request.path == reverse("healthz"):
            return self.get_response(request)
        signed_in_at = request.session.get(SIGNED_IN_AT)
        if signed_in_at is not None:
            now = int(time.time())
            if now - signed_in_at > settings.PORTAL_SESSION_MAX_HOURS * 60 * 60:
                logger.info(
                    "session ended after %s hours: username=%s address=%s",
                    settings.PORTAL_SESSION_MAX_HOURS,
                    request.user.get_username(),
                    sign_in_address(request),
                )
                logout(request)
            elif now - request.session.get(SEEN_AT, signed_in_at) >= SEEN_EVERY_SECONDS:
                request.session[SEEN_AT] = now
            # Wagtail's "Remember me" keeps the cookie after the browser closes, which on a
            # shared computer hands the session to the next person: not here.
            if not request.session.get_expire_at_browser_close():
                request.session.set_expiry(0)
        return self.get_response(request)


@checks.register(checks.Tags.security, deploy=True)
def second_factor_required_check(app_configs, **kwargs):
    """`check --deploy` warns if settings would let staff sign in with a password alone."""
    required = getattr(settings, "PORTAL_REQUIRE_SECOND_FACTOR", False)
    installed = all(name in settings.MIDDLEWARE for name in SECOND_FACTOR_MIDDLEWARE)
    if required and installed:
        return []
    return [checks.Warning(SECOND_FACTOR_OFF, id="portal.W001")]

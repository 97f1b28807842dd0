"""Public Local Offer pages served from Django's cache before anything else runs: no session,
no page lookup, no database query for a reader who is not signed in.

A page opts in by marking its response (`public_cache_mark`); the middleware stores such a
response, keyed by host and full path under a generation token, and answers later requests
without a session cookie from it. Publishing, unpublishing, moving or deleting any page
replaces the token once the change commits, so every cached page is dropped at once (a
publication also changes the Local Offer's listing and the summaries' trends). The cache is
only a short cut: if it cannot be reached, pages are rendered as usual."""

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished, post_page_move

logger = logging.getLogger(__name__)

GENERATION_KEY = "portal:public-pages:generation"
MARK = "_portal_public_cache"


def public_cache_mark(response):
    """Let the middleware keep `response` for readers who are not signed in."""
    setattr(response, MARK, True)
    return response


def public_cache_clear():
    """Drop every cached public page (after the current transaction commits)."""

    def replace_token():
        try:
            cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
        except Exception:  # the cache is a short cut; it must never break a publication
            logger.warning("Could not clear the public page cache", exc_info=True)

    transaction.on_commit(replace_token)


def _key(request, generation):
    return f"portal:public-page:{generation}:{request.get_host()}:{request.get_full_path()}"


def _anonymous_get(request):
    return request.method == "GET" and settings.SESSION_COOKIE_NAME not in request.COOKIES


class PublicPageCacheMiddleware:
    """Serves marked public pages from the cache to requests without a session cookie.
    Sits before the session and authentication middleware, so a hit costs one or two cache
    reads; headers added by middleware further out (security, CSP) are added to hits too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _anonymous_get(request) or settings.PORTAL_REPORT_CACHE_SECONDS <= 0:
            return self.get_response(request)
        try:
            generation = cache.get(GENERATION_KEY)
            cached = cache.get(_key(request, generation)) if generation else None
        except Exception:
            logger.warning("Public page cache unavailable", exc_info=True)
            return self.get_response(request)
        if cached is not None:
            return cached
        response = self.get_response(request)
        if getattr(response, MARK, False) and response.status_code == 200 and not response.cookies:
            self._store(request, generation, response)
        return response

    def _store(self, request, generation, response):
        try:
            if generation is None:
                generation = uuid.uuid4().hex
                if not cache.add(GENERATION_KEY, generation, None):
                    generation = cache.get(GENERATION_KEY)
            cache.set(_key(request, generation), response, settings.PORTAL_REPORT_CACHE_SECONDS)
        except Exception:
            logger.warning("Could not store a public page in the cache", exc_info=True)


@receiver(page_published, dispatch_uid="portal.local_offer.public_cache.published")
@receiver(page_unpublished, dispatch_uid="portal.local_offer.public_cache.unpublished")
@receiver(post_page_move, dispatch_uid="portal.local_offer.public_cache.moved")
def _page_changed(sender, **kwargs):
    public_cache_clear()


@receiver(post_delete, dispatch_uid="portal.local_offer.public_cache.deleted")
def _page_deleted(sender, instance, **kwargs):
    if isinstance(instance, Page):
        public_cache_clear()

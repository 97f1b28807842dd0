"""`manage.py reset_second_factor USERNAME`: for someone who has lost both their phone and
their recovery codes. Removes their authenticator app and recovery codes, so they set up a
new app the next time they sign in (with their password), and logs who was reset."""

import logging

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.framework.two_factor import second_factor_reset

logger = logging.getLogger("portal.security")

NO_SUCH_USER = "There is no one with the username {username!r}."
RESET_DONE = (
    "Second factor reset for {username}: they will set up a new authenticator app the next "
    "time they sign in."
)
NOTHING_TO_RESET = "{username} had no authenticator app or recovery codes: nothing to reset."


class Command(BaseCommand):
    help = (
        "Remove a person's authenticator app and recovery codes (a lost phone), so they set "
        "up a new app when they next sign in. Check who is asking before running it."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        User = get_user_model()
        try:
            user = User.objects.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(NO_SUCH_USER.format(username=username)) from None
        removed = second_factor_reset(user)
        if not removed:
            self.stdout.write(NOTHING_TO_RESET.format(username=username))
            return
        logger.warning("second factor reset: username=%s devices=%s", username, removed)
        self.stdout.write(RESET_DONE.format(username=username))

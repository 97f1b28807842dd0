"""The backup and the restore drill of docs/deployment.md, for real: the demo content (pages,
plans, audits, users) and an uploaded document are backed up from PostgreSQL with
scripts/backup.sh and restored with scripts/restore.sh into a fresh database and media
folder, where everything is as it was; and the restore refuses to run without being told
which database it is about to replace, or over a database that already has tables."""

import io
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from wagtail.documents import get_document_model
from wagtail.models import Page

from portal.audits.models import Audit, Plan

SCRIPTS = Path(django_settings.BASE_DIR) / "scripts"
DOCUMENT_TEXT = b"How moderators agree a grade: a short guide.\n"

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="backups are PostgreSQL dumps: run with DATABASE_URL set to PostgreSQL",
    ),
    # Committed, so that pg_dump (another connection) sees the rows; the migrations' rows
    # restored afterwards for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def script_messages(name):
    """The messages a script declares (readonly NAME="…"), as the operator would read them."""
    text = (SCRIPTS / name).read_text()
    return dict(re.findall(r'^readonly ([A-Z_]+)="([^"]*)"', text, flags=re.MULTILINE))


RESTORE = script_messages("restore.sh")


def database_url(name):
    """A URL for database `name` on the test database's server."""
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    host = database["HOST"] or "localhost"
    return f"postgres://{database['USER']}{password}@{host}:{database['PORT'] or 5432}/{name}"


@pytest.fixture
def fresh_database():
    """Make empty databases on the test server (createdb), dropped (dropdb) afterwards."""
    database = connection.settings_dict
    server = ["-h", database["HOST"] or "localhost", "-U", database["USER"]]
    if database["PORT"]:
        server += ["-p", str(database["PORT"])]
    made = []

    def make():
        name = f"ehcp_restore_{uuid.uuid4().hex[:10]}"
        subprocess.run(["createdb", *server, name], check=True)  # noqa: S603, S607
        made.append(name)
        return name

    yield make
    for name in made:
        subprocess.run(["dropdb", *server, "--if-exists", name], check=True)  # noqa: S603, S607


# Settings the scripts must be given explicitly, never inherit from whoever runs the tests.
OWN_SETTINGS = ("DATABASE_URL", "MEDIA_ROOT", "DJANGO_SETTINGS_MODULE", "REPORTING_DATABASE_URL")


def run_script(name, *args, env):
    inherited = {key: value for key, value in os.environ.items() if key not in OWN_SETTINGS}
    return subprocess.run(  # noqa: S603 - the project's own scripts, fixed arguments
        [str(SCRIPTS / name), *args],
        env={**inherited, "PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
    )


def rows(url, query):
    with psycopg.connect(url) as db:
        return db.execute(query).fetchall()


def execute(url, statement):
    with psycopg.connect(url) as db:
        db.execute(statement)


def table_count(url):
    return rows(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0]


def what_a_user_sees(url):
    """Pages, plans, audits and users as stored in the database at `url`."""
    tables = {
        "pages": (Page, "id, title, live, url_path"),
        "plans": (Plan, "id, system_id, key_stage, primary_need"),
        "audits": (Audit, "id, status, overall_grade, assignment_id"),
        "users": (get_user_model(), "id, username, email, password, is_active"),
        "documents": (get_document_model(), "id, title, file"),
    }
    return {
        name: rows(url, f"SELECT {columns} FROM {model._meta.db_table} ORDER BY id")  # noqa: S608
        for name, (model, columns) in tables.items()
    }


@pytest.fixture
def demo_site(settings, tmp_path):
    """The demo content, and a document a QA lead uploaded (its file in a media folder)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo_content", verbosity=0, stdout=io.StringIO())
    document = get_document_model().objects.create(
        title="Moderation guide",
        file=ContentFile(DOCUMENT_TEXT, name="moderation-guide.txt"),
    )
    return settings.MEDIA_ROOT, document


def backup(media_root, folder):
    """Back up the test database and `media_root`; returns the dump and the media tarball."""
    source = database_url(connection.settings_dict["NAME"])
    result = run_script(
        "backup.sh", str(folder), env={"DATABASE_URL": source, "MEDIA_ROOT": str(media_root)}
    )
    assert result.returncode == 0, result.stderr
    (dump,) = folder.glob("ehcp-*.dump")
    (media,) = folder.glob("ehcp-media-*.tar.gz")
    return dump, media


def restore_env(name, media_root):
    return {
        "DATABASE_URL": database_url(name),
        "MEDIA_ROOT": str(media_root),
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
    }


def test_a_backup_restores_into_a_fresh_database_as_it_was(demo_site, fresh_database, tmp_path):
    media_root, document = demo_site
    before = what_a_user_sees(database_url(connection.settings_dict["NAME"]))
    # The demo content is what is being protected, not an empty database.
    assert len(before["pages"]) > 20 and len(before["plans"]) > 10
    assert len(before["audits"]) > 5 and len(before["users"]) > 10
    dump, media = backup(media_root, tmp_path / "backups")
    assert not list((tmp_path / "backups").glob("*.partial"))

    target = fresh_database()
    restored_media = tmp_path / "restored-media"
    result = run_script(
        "restore.sh",
        "--confirm",
        target,
        "--media",
        str(media),
        str(dump),
        env=restore_env(target, restored_media),
    )
    assert result.returncode == 0, result.stderr
    assert "every migration of this release is applied" in result.stdout

    assert what_a_user_sees(database_url(target)) == before
    # The uploaded file came back beside its row, byte for byte.
    assert (restored_media / document.file.name).read_bytes() == DOCUMENT_TEXT


def test_restore_refuses_without_naming_the_database_it_replaces(fresh_database, tmp_path):
    dump = backup_of(connection.settings_dict["NAME"], tmp_path / "backups")
    target = fresh_database()
    env = restore_env(target, tmp_path / "restored-media")

    unconfirmed = run_script("restore.sh", str(dump), env=env)
    mistaken = run_script("restore.sh", "--confirm", "ehcp", str(dump), env=env)

    for refused in (unconfirmed, mistaken):
        assert refused.returncode == 2
        assert RESTORE["NOT_CONFIRMED"] in refused.stderr
        assert f"--confirm {target}" in refused.stderr
    assert table_count(database_url(target)) == 0


def test_restore_refuses_a_database_with_tables_unless_forced(fresh_database, tmp_path):
    dump = backup_of(connection.settings_dict["NAME"], tmp_path / "backups")
    target = fresh_database()
    env = restore_env(target, tmp_path / "restored-media")
    assert run_script("restore.sh", "--confirm", target, str(dump), env=env).returncode == 0
    execute(database_url(target), "UPDATE wagtailcore_page SET title = 'Changed after the backup'")

    refused = run_script("restore.sh", "--confirm", target, str(dump), env=env)
    assert refused.returncode == 2
    assert RESTORE["HAS_TABLES"] in refused.stderr
    assert rows(database_url(target), "SELECT DISTINCT title FROM wagtailcore_page") == [
        ("Changed after the backup",)
    ]

    forced = run_script("restore.sh", "--confirm", target, "--force", str(dump), env=env)
    assert forced.returncode == 0, forced.stderr
    assert what_a_user_sees(database_url(target)) == what_a_user_sees(
        database_url(connection.settings_dict["NAME"])
    )


def test_restore_says_when_the_backup_is_behind_this_release(fresh_database, tmp_path):
    # A backup taken before the latest migration of the audits app was applied.
    older = fresh_database()
    source = backup_of(connection.settings_dict["NAME"], tmp_path / "now")
    env = restore_env(older, tmp_path / "media")
    assert run_script("restore.sh", "--confirm", older, str(source), env=env).returncode == 0
    execute(
        database_url(older),
        "DELETE FROM django_migrations WHERE id = "
        "(SELECT max(id) FROM django_migrations WHERE app = 'audits')",
    )
    dump = backup_of(older, tmp_path / "older")

    target = fresh_database()
    result = run_script(
        "restore.sh", "--confirm", target, str(dump), env=restore_env(target, tmp_path / "media")
    )
    assert result.returncode == 3
    assert RESTORE["NEEDS_MIGRATIONS"] in result.stderr


def backup_of(name, folder):
    """A database-only backup of database `name` into `folder`; returns the dump."""
    result = run_script(
        "backup.sh",
        str(folder),
        env={"DATABASE_URL": database_url(name), "MEDIA_ROOT": str(folder / "no-media")},
    )
    assert result.returncode == 0, result.stderr
    (dump,) = folder.glob("ehcp-*.dump")
    return dump

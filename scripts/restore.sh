#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into the PostgreSQL database in DATABASE_URL (and,
# with --media, the media tarball into MEDIA_ROOT), then check the restored database against
# this release's migrations. See docs/deployment.md, "Backups and restore".
#
#   DATABASE_URL=postgres://ehcp@db:5432/ehcp_restore MEDIA_ROOT=/srv/ehcp/media \
#     scripts/restore.sh --confirm ehcp_restore [--media ehcp-media-….tar.gz] [--force] \
#     backups/ehcp-20261123T020000Z.dump
#
# --confirm must name the target database: restoring replaces what is there. A database that
# already has tables (or a media directory with files) is refused unless --force is given.
# The whole restore is one transaction: if anything fails, the target is left as it was.
set -euo pipefail

readonly USAGE="Usage: scripts/restore.sh --confirm DATABASE_NAME [--media ARCHIVE] [--force] DUMP_FILE"
readonly NO_DATABASE="Set DATABASE_URL to the PostgreSQL database to restore into."
readonly NOT_POSTGRES="DATABASE_URL must be a PostgreSQL URL (postgres:// or postgresql://)."
readonly NOT_CONFIRMED="Refusing to restore: this replaces the contents of database"
readonly HAS_TABLES="Refusing to restore: the target database already has tables. Restore into an empty database, or add --force to replace them."
readonly MEDIA_NOT_EMPTY="Refusing to restore media: the media directory is not empty. Add --force to restore over it."
readonly NEEDS_MIGRATIONS="The restored database is behind this release: run 'manage.py migrate' before serving it."

die() {
    echo "restore: $*" >&2
    exit 2
}

confirm="" media_archive="" force=0 dump=""
while (($#)); do
    case "$1" in
        --confirm) confirm="${2:-}"; shift 2 || die "$USAGE" ;;
        --confirm=*) confirm="${1#*=}"; shift ;;
        --media) media_archive="${2:-}"; shift 2 || die "$USAGE" ;;
        --media=*) media_archive="${1#*=}"; shift ;;
        --force) force=1; shift ;;
        -h | --help) echo "$USAGE"; exit 0 ;;
        -*) die "$USAGE" ;;
        *) [[ -z "$dump" ]] || die "$USAGE"; dump="$1"; shift ;;
    esac
done
[[ -n "$dump" ]] || die "$USAGE"
[[ -f "$dump" ]] || die "No backup file at $dump."
[[ -z "$media_archive" || -f "$media_archive" ]] || die "No media archive at $media_archive."
[[ -n "${DATABASE_URL:-}" ]] || die "$NO_DATABASE"
[[ "$DATABASE_URL" =~ ^postgres(ql)?:// ]] || die "$NOT_POSTGRES"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
media="${MEDIA_ROOT:-$here/media}"
if [[ -z "${PYTHON:-}" ]]; then
    PYTHON="$here/.venv/bin/python"
    [[ -x "$PYTHON" ]] || PYTHON="python3"
fi

sql() {
    psql --no-psqlrc --quiet --tuples-only --no-align --dbname="$DATABASE_URL" --command="$1"
}

# Asked of the server rather than parsed from the URL, so the name confirmed is the database
# the restore would really write to.
database="$(sql "SELECT current_database()")"
if [[ "$confirm" != "$database" ]]; then
    die "$NOT_CONFIRMED \"$database\". Run again with --confirm $database if that is what you mean."
fi
tables="$(sql "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")"
if ((tables > 0 && !force)); then
    die "$HAS_TABLES ($tables tables in \"$database\".)"
fi
if [[ -n "$media_archive" && -d "$media" && -n "$(ls -A "$media")" && $force -eq 0 ]]; then
    die "$MEDIA_NOT_EMPTY ($media)"
fi

pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error \
    --dbname="$DATABASE_URL" "$dump"
echo "database: restored $dump into \"$database\" ($(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") tables)"

if [[ -n "$media_archive" ]]; then
    mkdir -p "$media"
    tar --extract --gzip --file="$media_archive" --directory="$media"
    echo "media: restored $media_archive into $media"
fi

# The same check a deployment makes: every migration of this release is applied.
if ! (cd "$here" && "$PYTHON" manage.py migrate --check --noinput >/dev/null); then
    echo "restore: $NEEDS_MIGRATIONS" >&2
    exit 3
fi
echo "check: every migration of this release is applied"

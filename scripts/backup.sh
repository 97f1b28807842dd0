#!/usr/bin/env bash
# Back up the portal: the PostgreSQL database in DATABASE_URL as a pg_dump custom-format
# archive, and the media directory (Wagtail documents and images) as a tarball, both named
# with the time of the backup (UTC). See docs/deployment.md, "Backups and restore".
#
#   DATABASE_URL=postgres://ehcp@db:5432/ehcp MEDIA_ROOT=/srv/ehcp/media \
#     scripts/backup.sh [BACKUP_DIR]
#
# BACKUP_DIR defaults to $BACKUP_DIR, then ./backups. With BACKUP_KEEP_DAYS set, backups in
# BACKUP_DIR older than that many days are deleted after a successful backup.
set -euo pipefail

readonly NO_DATABASE="Set DATABASE_URL to the PostgreSQL database to back up."
readonly NOT_POSTGRES="DATABASE_URL must be a PostgreSQL URL (postgres:// or postgresql://)."

die() {
    echo "backup: $*" >&2
    exit 2
}

[[ -n "${DATABASE_URL:-}" ]] || die "$NO_DATABASE"
[[ "$DATABASE_URL" =~ ^postgres(ql)?:// ]] || die "$NOT_POSTGRES"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:-${BACKUP_DIR:-$here/backups}}"
media="${MEDIA_ROOT:-$here/media}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$target"
# Backups hold the audit records: readable by their owner only.
umask 077

# Written under a temporary name and renamed once complete, so a backup cut short (disk full,
# server gone) never looks like a good one.
dump="$target/ehcp-$stamp.dump"
pg_dump --format=custom --no-owner --file="$dump.partial" --dbname="$DATABASE_URL"
mv "$dump.partial" "$dump"
echo "database: $dump ($(du -h "$dump" | cut -f1))"

if [[ -d "$media" ]]; then
    archive="$target/ehcp-media-$stamp.tar.gz"
    tar --create --gzip --file="$archive.partial" --directory="$media" .
    mv "$archive.partial" "$archive"
    echo "media: $archive ($(du -h "$archive" | cut -f1))"
else
    echo "media: none ($media does not exist)"
fi

if [[ -n "${BACKUP_KEEP_DAYS:-}" ]]; then
    find "$target" -maxdepth 1 -type f \( -name 'ehcp-*.dump' -o -name 'ehcp-media-*.tar.gz' \) \
        -mtime "+$BACKUP_KEEP_DAYS" -print -delete | sed 's/^/deleted: /'
fi

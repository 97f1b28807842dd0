"""Sends reporting reads to a read replica when one is configured (REPORTING_DATABASE_URL, see
docs/deployment.md): the dashboard's and reports' aggregates over AuditFact are the portal's
heaviest reads and can stand a moment's replication lag. Every write, every other read, and
any read made while the primary is inside a transaction stays on the primary."""

from django.db import DEFAULT_DB_ALIAS, connections

REPORTING_DB_ALIAS = "reporting"
# Models whose reads may come from the replica: only aggregates that tolerate lag. Plans,
# audits, actions and sessions are read back straight after being written, so they stay on
# the primary.
REPORTING_MODELS = frozenset({"audits.auditfact"})


def reporting_read_allowed(model, hints):
    """Whether a read of `model` may go to the replica: a reporting model, read on its own
    (not through an object already loaded), outside any transaction on the primary."""
    if model._meta.label_lower not in REPORTING_MODELS:
        return False
    if hints.get("instance") is not None:
        # Following a relation from an object (audit.fact): read where it was read.
        return False
    # Inside a transaction the caller may have just written what it reads (a report's
    # snapshot is taken in one, and must never freeze figures missing an audit the replica
    # has not received yet); a replica would not see those rows.
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return False
    return REPORTING_DB_ALIAS in connections


class ReportingReplicaRouter:
    """Reporting reads to the "reporting" alias, everything else to "default"; migrations only
    on "default" (the replica is a physical copy of it)."""

    def db_for_read(self, model, **hints):
        """The replica for lag-tolerant report reads, otherwise the primary."""
        if reporting_read_allowed(model, hints):
            return REPORTING_DB_ALIAS
        # Also for relations followed from a fact read on the replica (fact.plan): a plan or
        # cycle is read from the primary like any other.
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        """Always the primary: the replica is read-only."""
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        """Objects from the primary and the replica are the same data, so may be related."""
        both = {obj1._state.db, obj2._state.db}
        if both <= {DEFAULT_DB_ALIAS, REPORTING_DB_ALIAS}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        """Only the primary is migrated; the replica follows it by streaming replication."""
        return db == DEFAULT_DB_ALIAS

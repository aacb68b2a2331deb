-- Drift between the catalogue and the live systems (`services/catalogue/drift/`): what the scheduled
-- check found, one row per drift (its identity: system, kind, table, column), first and last seen,
-- resolved when a later check no longer finds it (the catalogue or the system was fixed). A drift
-- that comes back opens its row again. Names, types and counts only: never a sampled value.
--
-- The tracker's workers share one schedule row: the worker that claims it (a lease, so a worker
-- that dies mid-check lets another take over) checks every system; the others only read the
-- results for their gauges.

create table catalogue_drift_findings (
    identity text primary key,               -- sha-256 of [system, kind, table, column]
    system text not null,
    kind text not null check (kind in ('undescribed_table', 'undescribed_column', 'missing_table',
                                       'missing_column', 'type_changed', 'looks_personal_now')),
    table_name text not null,
    column_name text,                        -- null: the finding is about the whole table
    personal boolean not null,               -- personal data the catalogue does not describe as such
    detail jsonb not null,                   -- types, the scaffold's suggestion with its evidence counts
    first_seen_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    resolved_at timestamptz,
    checks int not null default 1            -- checks that found it since it was (re)opened
);
create index catalogue_drift_open on catalogue_drift_findings (system, personal) where resolved_at is null;

create table catalogue_drift_systems (
    system text primary key,
    checked_at timestamptz not null,
    outcome text not null check (outcome in ('checked', 'unreachable', 'not_checkable')),
    reason text,                             -- why not checked: a cause code, never a message with data
    undescribed_columns int not null default 0,
    undescribed_personal int not null default 0
);

create table catalogue_drift_schedule (
    id boolean primary key default true check (id),
    next_check_at timestamptz not null default '-infinity',
    catalogue_digest text,                   -- the catalogue last checked: a changed catalogue is checked at once
    holder text,                             -- the worker holding the lease
    lease_until timestamptz,
    last_started_at timestamptz,
    last_finished_at timestamptz
);
insert into catalogue_drift_schedule default values;

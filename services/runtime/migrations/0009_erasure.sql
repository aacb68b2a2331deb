-- Erasure and the other rights: plans with their decisions, which systems a plan has finished,
-- the erasure ledger (record keys and keyed hashes only, for replay after a backup restore), the
-- schedule of records kept until a date, restrictions, objection tasks and the suppression list.

create table erasure_plans (
    id              uuid primary key,
    request_id      uuid references requests (id),          -- null: a scheduled erasure
    kind            text not null check (kind in ('request', 'scheduled')),
    status          text not null check (status in ('needs_review', 'approved', 'executed', 'rejected')),
    plan            jsonb not null,                         -- decisions by record key; no personal data
    review_reasons  text[] not null default '{}',
    created_at      timestamptz not null default now(),
    decided_by      text,
    decided_at      timestamptz,
    executed_at     timestamptz,
    rescan          jsonb
);
create unique index erasure_plans_one_per_request on erasure_plans (request_id) where kind = 'request';
create index erasure_plans_approved on erasure_plans (created_at) where status = 'approved';

create table erasure_plan_systems (
    plan_id   uuid not null references erasure_plans (id),
    system    text not null,
    done_at   timestamptz not null default now(),
    changed   int not null,
    primary key (plan_id, system)
);

create table erasure_ledger (
    id           bigserial primary key,
    plan_id      uuid not null references erasure_plans (id),
    system       text not null,
    "table"      text not null,
    record_key   jsonb not null,                 -- {"id": "123"}: an internal key, not personal data
    method       text not null check (method in ('delete_row', 'null_columns', 'anonymise')),
    columns      text[] not null default '{}',
    fingerprint  text,                           -- keyed hash of the row's identifying values
    erased_at    timestamptz not null default now(),
    unique (plan_id, system, "table", record_key)
);
create index erasure_ledger_replay on erasure_ledger (system, erased_at);

create table erasure_schedule (
    id          bigserial primary key,
    system      text not null,
    "table"     text not null,
    record_key  jsonb not null,
    due_on      date not null,
    request_id  uuid references requests (id),
    status      text not null default 'pending' check (status in ('pending', 'done')),
    created_at  timestamptz not null default now(),
    done_at     timestamptz,
    unique (system, "table", record_key)
);
create index erasure_schedule_due on erasure_schedule (due_on) where status = 'pending';

create table restrictions (
    id          bigserial primary key,
    request_id  uuid not null references requests (id),
    system      text not null,
    "table"     text not null,
    record_key  jsonb not null,
    restricted_at timestamptz not null default now(),
    lift_notified_at timestamptz,                -- the subject was told before lifting
    lifted_at   timestamptz,
    lifted_by   text,
    unique (request_id, system, "table", record_key)
);

create table objection_tasks (
    id          bigserial primary key,
    request_id  uuid not null unique references requests (id),
    status      text not null default 'open' check (status in ('open', 'upheld', 'dismissed')),
    created_at  timestamptz not null default now(),
    decided_by  text,
    decided_at  timestamptz,
    outcome     text check (outcome in ('restrict', 'erase')),
    reason      text
);
create index objection_tasks_open on objection_tasks (created_at) where status = 'open';

create table suppressions (
    hash        text primary key,                -- keyed hash of a normalised email, phone or national id
    kind        text not null check (kind in ('email', 'phone', 'national_id')),
    request_id  uuid references requests (id),
    created_at  timestamptz not null default now()
);

-- Art. 19 notices given, kept so that a later access request's extract can list who was told.
create table recipient_notices (
    id            bigserial primary key,
    request_id    uuid not null references requests (id),
    recipient     text not null,               -- the recipient's key in parties.yaml
    change        text not null check (change in ('erased', 'anonymised', 'rectified', 'restricted')),
    tables        text[] not null,
    record_count  int not null,
    created_at    timestamptz not null default now()
);
create index recipient_notices_request on recipient_notices (request_id);

-- The locator: what it found for a request (and through which chain), searches waiting for a
-- system that could not be read, and tasks for agents searching systems without an interface.

create table findings (
    request_id   uuid not null references requests (id),
    system       text not null,
    "table"      text not null,
    primary_key  jsonb not null,                 -- {"column": "value"}: the row, by reference only
    categories   text[] not null,
    matched_by   jsonb not null,                 -- the chain from a request identifier to the row
    found_at     timestamptz not null default now(),
    primary key (request_id, system, "table", primary_key)
);

create table locator_waits (
    request_id       uuid primary key references requests (id),
    systems          text[] not null,            -- the systems that could not be read
    waiting_since    timestamptz not null default now(),
    next_attempt_at  timestamptz not null,
    attempts         int not null default 1
);
create index locator_waits_due on locator_waits (next_attempt_at);

create table manual_tasks (
    id           bigserial primary key,
    request_id   uuid not null references requests (id),
    system       text not null,
    status       text not null default 'open' check (status in ('open', 'answered', 'cancelled')),
    due_at       timestamptz not null,
    created_at   timestamptz not null default now(),
    answered_at  timestamptz,
    answered_by  text,
    answer       jsonb,                          -- the rows the agent found, as findings
    unique (request_id, system)
);
create index manual_tasks_open on manual_tasks (due_at) where status = 'open';

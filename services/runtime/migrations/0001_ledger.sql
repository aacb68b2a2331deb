-- The ledger: requests, their status history, the audit trail, the outbox and the inbox.

create table requests (
    id                uuid primary key,
    reference         text not null unique,
    type              text not null,
    channel           text not null,
    status            text not null,
    received_at       timestamptz not null,
    due_date          date not null,
    paused_days       int not null default 0,
    extended          boolean not null default false,
    subject           jsonb not null,             -- identifiers as submitted: personal data stays here
    details           jsonb not null default '{}'::jsonb,
    language          text not null default 'nb',
    correlation_id    text not null,
    idempotency_scope text,
    idempotency_key   text,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now()
);
create unique index requests_idempotency on requests (idempotency_scope, idempotency_key)
    where idempotency_key is not null;
create index requests_open on requests (status, due_date)
    where status not in ('completed', 'referred', 'refused', 'cancelled');

create sequence request_reference_seq;

create table request_status_history (
    id          bigserial primary key,
    request_id  uuid not null references requests (id),
    status      text not null,
    at          timestamptz not null default clock_timestamp(),
    actor       text not null,
    reason      text
);
create index request_status_history_request on request_status_history (request_id, id);

create table audit_events (
    id          bigserial primary key,
    request_id  uuid references requests (id),
    at          timestamptz not null default clock_timestamp(),
    actor       text not null,
    action      text not null,
    detail      jsonb not null default '{}'::jsonb
);
create index audit_events_request on audit_events (request_id, id);

-- Transactional outbox: a row is written in the same transaction as the change it announces;
-- the producing service's relay publishes it and stamps published_at.
create table outbox (
    id            bigserial primary key,
    producer      text not null,
    topic         text not null,
    key           bytea,
    value         bytea not null,
    event_id      uuid not null unique,
    event_type    text not null,
    request_id    uuid,
    created_at    timestamptz not null default now(),
    published_at  timestamptz
);
create index outbox_pending on outbox (producer, id) where published_at is null;

create function outbox_wake() returns trigger language plpgsql as $$
begin
    -- identical notifications in one transaction are folded into one by PostgreSQL
    perform pg_notify('dsr_outbox', new.producer);
    return null;
end $$;
create trigger outbox_wake after insert on outbox for each row execute function outbox_wake();

-- Inbox: a consumer's effect and this row commit together, so a redelivered event is skipped.
create table processed_events (
    consumer      text not null,
    event_id      uuid not null,
    topic         text not null,
    partition     int,
    "offset"      bigint,
    processed_at  timestamptz not null default now(),
    primary key (consumer, event_id)
);

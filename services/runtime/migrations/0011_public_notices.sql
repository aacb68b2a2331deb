-- The data subject's side: the identity scope an email confirmation gives, public-form rate limits,
-- email verification links, status secrets, notices (email and letters) and the print-and-post queue.

-- null: every record found; 'email_direct': only records found directly by a confirmed email.
alter table requests add column identity_scope text;

-- One row per accepted attempt at the public form, per bucket (a keyed hash of the client address
-- or of an identifier: no address or identifier in clear). Old rows are pruned as new ones arrive.
create table public_rate_events (
    id      bigserial primary key,
    bucket  bytea not null,
    at      timestamptz not null default now()
);
create index public_rate_events_bucket on public_rate_events (bucket, at);

-- One-time links that confirm control of an email address; only hashes are stored.
create table email_verifications (
    token_hash  bytea primary key,
    request_id  uuid not null references requests (id),
    expires_at  timestamptz not null,
    used_at     timestamptz,
    created_at  timestamptz not null default now()
);
create index email_verifications_request on email_verifications (request_id);

-- Secrets sent to the subject with their notices, for the status page; only hashes are stored.
create table status_secrets (
    secret_hash  bytea primary key,
    request_id   uuid not null references requests (id),
    created_at   timestamptz not null default now()
);
create index status_secrets_request on status_secrets (request_id);

-- A notice per event, recipient and template, sent at most once however often the event arrives.
create table notices (
    id               bigserial primary key,
    event_id         uuid not null,
    request_id       uuid not null references requests (id),
    recipient        text not null,            -- the email address, or 'post'
    medium           text not null,            -- 'email' or 'letter'
    template         text not null,
    language         text not null,
    context          jsonb not null,           -- what the template needs besides late-issued links
    status           text not null default 'pending',  -- pending, sent, failed, bounced
    attempts         int not null default 0,
    next_attempt_at  timestamptz not null default now(),
    last_error       text,                     -- an error class or SMTP code, never content
    sent_at          timestamptz,
    created_at       timestamptz not null default now(),
    unique (event_id, recipient, template)
);
create index notices_due on notices (next_attempt_at) where status = 'pending';
create index notices_request on notices (request_id);

-- Letters for the print-and-post partner: the PDF and the address, until posted.
create table letters (
    id          bigserial primary key,
    notice_id   bigint not null unique references notices (id),
    request_id  uuid not null references requests (id),
    pdf         bytea not null,
    created_at  timestamptz not null default now(),
    posted_at   timestamptz
);
create index letters_unposted on letters (created_at) where posted_at is null;

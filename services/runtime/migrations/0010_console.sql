-- The agent console: signed-in sessions (only a hash of each token), sign-in attempts for rate
-- limiting across workers, and the locator's ambiguous matches with the human's resolution.

create table console_sessions (
    token_hash    bytea primary key,
    account       text not null,
    role          text not null,
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    ended_at      timestamptz
);
create index console_sessions_account on console_sessions (account) where ended_at is null;

create table console_signin_attempts (
    id         bigserial primary key,
    account    text not null,
    address    text not null,
    succeeded  boolean not null,
    at         timestamptz not null default now()
);
create index console_signin_attempts_account on console_signin_attempts (account, at) where not succeeded;
create index console_signin_attempts_address on console_signin_attempts (address, at) where not succeeded;

-- An ambiguous match: the candidate people (their identifiers: personal data, as in `requests.subject`)
-- and, once a human chose, the resolution the locator searches with.
create table locator_reviews (
    request_id   uuid primary key references requests (id),
    candidates   jsonb not null,
    shared       jsonb not null,            -- [[kind, value], ...] that more than one candidate has
    created_at   timestamptz not null default now(),
    resolution   jsonb,                     -- {"choice": n} (0-based) or {"choice": null}: none of them
    resolved_by  text,
    resolved_at  timestamptz
);

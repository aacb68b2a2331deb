-- Artifacts (extracts, certificates) encrypted at rest, and one-time download links to them.

create table artifacts (
    id          uuid primary key,
    request_id  uuid not null references requests (id),
    kind        text not null,
    media_type  text not null,
    filename    text not null,
    size        bigint not null,
    key_id      text not null,
    sealed      bytea,              -- null once purged
    created_at  timestamptz not null default now(),
    purged_at   timestamptz
);
create index artifacts_request on artifacts (request_id);
create index artifacts_live on artifacts (created_at) where purged_at is null;

-- Only a hash of each token is stored: the database cannot hand out working links.
create table download_tokens (
    token_hash   bytea primary key,
    artifact_id  uuid not null references artifacts (id),
    issued_to    text not null,      -- 'subject' or the API key's name
    expires_at   timestamptz not null,
    used_at      timestamptz,
    created_at   timestamptz not null default now()
);
create index download_tokens_artifact on download_tokens (artifact_id);

-- A withdrawn consent on a table that also rests on another basis stops the purposes on consent and
-- leaves the others going: per row, which purposes stopped and which go on, with their bases (the
-- catalogue's words, record keys; never personal data). A later extract reads it by record key.
create table stopped_purposes (
    id          bigserial primary key,
    request_id  uuid not null references requests (id),
    system      text not null,
    "table"     text not null,
    record_key  jsonb not null,                 -- {"id": "123"}: an internal key, not personal data
    purposes    jsonb not null,                 -- {"stopped": [{purpose, legal_basis}], "continuing": [...]}
    stopped_at  timestamptz not null default now(),
    unique (system, "table", record_key, request_id)
);
create index stopped_purposes_request on stopped_purposes (request_id);

-- A rectification's proof: every found row read back after the corrections, the old values gone
-- from the rectifiable columns, the new ones there, and where an old value is kept as it was
-- written (a non-rectifiable column) with the reason. Values only as keyed hashes.
create table rectification_proofs (
    request_id  uuid primary key references requests (id),
    verified    boolean not null,
    proof       jsonb not null,
    checked_at  timestamptz not null default now()
);

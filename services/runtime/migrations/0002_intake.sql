-- Intake: normalised identifiers for dedupe and search, the verification pause, extensions, links.

create table request_identifiers (
    request_id  uuid not null references requests (id),
    kind        text not null,
    value       text not null,
    primary key (request_id, kind)
);
create index request_identifiers_lookup on request_identifiers (kind, value);

alter table requests
    add column duplicate_of       uuid references requests (id),
    add column assurance          text not null default 'low',
    add column paused_since       timestamptz,
    add column extension_months   int not null default 0,
    add column extension_reason   text;

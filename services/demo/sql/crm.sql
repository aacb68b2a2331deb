-- CRM: organisations (clients, prospects, suppliers, authorities) and the people we deal with there.

create table organisations (
    id bigint primary key,
    org_number text not null,
    name text not null,
    kind text not null check (kind in ('client', 'prospect', 'supplier', 'authority'))
);

create table contacts (
    id bigint primary key,
    organisation_id bigint not null,
    name text not null,
    title text,
    email text,
    phone text,
    last_contact_on date not null,
    relationship_ended_on date,
    restricted boolean not null default false
);

create table contact_activities (
    id bigint primary key,
    contact_id bigint not null,
    occurred_at timestamptz not null,
    kind text not null check (kind in ('meeting', 'call', 'email')),
    summary text not null,
    restricted boolean not null default false
);

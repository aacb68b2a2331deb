-- Website contact forms and email correspondence.

create table form_submissions (
    id bigint primary key,
    submitted_at timestamptz not null,
    form text not null,
    name text not null,
    email text not null,
    phone text,
    case_number text,
    message text not null,
    restricted boolean not null default false
);

create table emails (
    id bigint primary key,
    received_at timestamptz not null,
    direction text not null check (direction in ('inbound', 'outbound')),
    address text not null,
    name text,
    subject text not null,
    body text not null,
    case_number text,
    restricted boolean not null default false
);

-- Phone call logs of customer service.

create table call_logs (
    id bigint primary key,
    started_at timestamptz not null,
    phone text not null,
    direction text not null check (direction in ('inbound', 'outbound')),
    duration_seconds integer not null,
    agent text not null,
    case_number text,
    summary text,
    restricted boolean not null default false
);

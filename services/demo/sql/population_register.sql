-- Address updates from the National Population Register, received through an external processor.

create table address_updates (
    id bigint primary key,
    national_id text not null,
    name text not null,
    address text not null,
    previous_address text,
    moved_on date not null,
    received_at timestamptz not null,
    case_number text,
    restricted boolean not null default false
);

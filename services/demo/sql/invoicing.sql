-- Invoice administration on behalf of clients: the client named on the invoice is the controller,
-- the company is its processor.

create table clients (
    id bigint primary key,
    name text not null,
    org_number text not null
);

create table invoices (
    id bigint primary key,
    invoice_number text not null,
    client_id bigint not null,
    customer_number text not null,
    recipient_national_id text,
    recipient_name text not null,
    recipient_address text not null,
    recipient_email text,
    recipient_phone text,
    issued_on date not null,
    due_on date not null,
    amount numeric(12, 2) not null,
    status text not null check (status in ('unpaid', 'paid', 'sent_to_collection')),
    restricted boolean not null default false
);

create table invoice_lines (
    id bigint primary key,
    invoice_id bigint not null,
    description text not null,
    quantity integer not null,
    unit_price numeric(12, 2) not null
);

-- The company's own books: payments received on cases, fees and invoices to clients.

create table ledger_entries (
    id bigint primary key,
    voucher_number text not null,
    booked_on date not null,
    account text not null,
    amount numeric(12, 2) not null,
    description text not null,
    counterparty_name text not null,
    counterparty_account text,
    case_number text,
    invoice_number text,
    restricted boolean not null default false
);

create unique index invoices_invoice_number on invoices (invoice_number);
create index invoices_client_id on invoices (client_id);
create index invoices_customer_number on invoices (customer_number);
create index invoices_recipient_national_id on invoices (recipient_national_id);
create index invoices_recipient_email on invoices (recipient_email);
create index invoices_recipient_phone on invoices (recipient_phone);
create index invoice_lines_invoice_id on invoice_lines (invoice_id);
alter table invoices add foreign key (client_id) references clients (id);
alter table invoice_lines add foreign key (invoice_id) references invoices (id);

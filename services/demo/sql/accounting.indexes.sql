create index ledger_entries_case_number on ledger_entries (case_number);
create index ledger_entries_invoice_number on ledger_entries (invoice_number);

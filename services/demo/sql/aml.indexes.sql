create index aml_checks_national_id on aml_checks (national_id);
create index aml_checks_case_number on aml_checks (case_number);

create index credit_reports_national_id on credit_reports (national_id);
create index credit_reports_case_number on credit_reports (case_number);

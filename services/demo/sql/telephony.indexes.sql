create index call_logs_phone on call_logs (phone);
create index call_logs_case_number on call_logs (case_number);

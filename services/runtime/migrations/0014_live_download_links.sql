-- One live download link per artifact and recipient (issue 22): issuing a link ends the recipient's
-- earlier unused ones, a look-up by artifact and recipient among the unused links on every issue.
create index download_tokens_unused on download_tokens (artifact_id, issued_to) where used_at is null;

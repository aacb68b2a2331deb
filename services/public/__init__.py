"""The data subject's side of the API: the request form, email confirmation, status and downloads."""

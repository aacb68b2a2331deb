"""The data catalogue: every system, table and column holding personal data, and the rules for each."""

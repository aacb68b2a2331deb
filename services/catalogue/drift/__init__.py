"""The catalogue against the live systems: what changed since it was written.

- `findings.py`: what a check says (kinds, a stable identity per drift, the outcome per system);
- `compare.py`: one system's catalogue entry against its live schema and the scaffold's
  suggestions (pure);
- `suggest.py`: the scaffold's classifier over a live schema (pure);
- `check.py`: reaching every system with the pipeline's own settings, as the services do;
- `store.py`: the findings in the ledger (first seen, last seen, resolved) and the schedule's lease;
- `audit.py`: a locate or an erasure that runs while its systems have drifted says so in its trail.

`dsr catalogue drift` runs a check from the command line; the tracker runs it on a schedule
(`services/tracker/drift.py`).
"""

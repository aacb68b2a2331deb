"""`dsr catalogue scaffold`: a draft catalogue entry from a live system.

- `introspect.py` reads a database's schema through SQLAlchemy's inspector and samples a few values
  of each text-like column (read-only, with a statement timeout) into plain dataclasses;
- `values.py` says what one value is, or holds (pure);
- `classify.py` suggests a column's identifier type and categories from its name, type and sample,
  with the evidence as counts (pure);
- `draft.py` writes the suggestions as `systems/<system>.yaml`, every entry `review: suggested`;
- `openapi.py` drafts an HTTP system from its OpenAPI document, or a commented template.

Sampled values live only in memory, inside `Sample` objects whose repr shows a count: nothing here
prints, writes or logs a value.
"""

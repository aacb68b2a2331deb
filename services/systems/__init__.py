"""Everything that touches a source system: one contract (`contract.py`), an engine per kind of
system (PostgreSQL, any SQLAlchemy dialect, declarative HTTP APIs, manual), and the registry that
builds each catalogued system's adapter. Nothing outside this package reads or writes a source
system."""

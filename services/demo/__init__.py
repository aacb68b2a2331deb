"""Demo source systems: one PostgreSQL database per system of BRIEF §5, filled with synthetic people."""

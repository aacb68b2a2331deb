"""Running the pipeline: the embedded PostgreSQL and broker, the process supervisor, the `dsr` CLI."""

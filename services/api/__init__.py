"""The API process: the composition root (`app.py`) of every router the intake process hosts
(intake, downloads, fulfilment's review, erasure's decisions, audit, the public pages, the console,
the API docs), with what those routers share: key authentication (`auth.py`) and the request's
ledger pool, artifact store and "in a transaction, or 409" (`web.py`)."""

"""The agent console: a server-rendered web UI at `/console` (and the `/sla` page) on the API's base URL."""

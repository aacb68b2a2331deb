"""Benchmarks (`dsr bench ...`): tooling that measures the services, not a service itself."""

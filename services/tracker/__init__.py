"""SLA tracking: deadlines at risk or missed, stuck requests driven on, lifecycle metrics."""

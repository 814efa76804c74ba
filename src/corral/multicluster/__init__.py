"""Many clusters, one queue: a dispatcher above several clusters, simulated."""

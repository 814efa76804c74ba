"""The live dispatcher: one queue in a manager cluster, jobs run in worker clusters."""

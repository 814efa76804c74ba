"""``corral serve``: a web dashboard and admin API over projects, usage, jobs, nodes, datasets
and simulation runs, live (a cluster) or offline (a history database and run folders)."""

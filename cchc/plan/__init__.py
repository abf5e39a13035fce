"""Reform plans: the plan file (YAML or the XLSX officials keep), its checks, and issuing it."""

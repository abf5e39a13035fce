"""The ``cchc`` sub-commands, one module per group."""

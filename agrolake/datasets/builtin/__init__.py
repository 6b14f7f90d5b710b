"""The built-in datasets, one module each: a ``DATASET`` (or ``DATASETS``) and the
refined tables built on them (``REFINED``). The registry finds them by name."""

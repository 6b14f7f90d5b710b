"""Datasets as the unit: one declaration per source, from which every zone derives its part.

``model`` says what a declaration holds; ``builtin/`` declares the built-in
datasets (one module each) and ``declarations`` reads users' YAML files;
``registry`` loads both and checks them as a whole; ``raw_contract``,
``recognition``, ``cleaning`` and ``schema`` derive the raw contract, the
recognition of files, the cleaning with its quarantine checks and the trusted
schema; ``infer`` writes a declaration from a sample file. See docs/datasets.md.
"""

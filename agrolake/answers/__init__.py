"""Answers about the lake: its status, SQL over its tables, lineage from files to models."""

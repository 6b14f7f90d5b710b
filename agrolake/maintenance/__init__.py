"""Table maintenance: compaction, checkpoints, and a vacuum that keeps what models and
lineage need (docs/tables.md, "Maintenance")."""

from agrolake.maintenance.maintain import MaintenanceReport, maintain, maintain_due

__all__ = ["MaintenanceReport", "maintain", "maintain_due"]

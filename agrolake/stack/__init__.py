"""The services profile on one machine, in one command: ``agrolake stack up|down|status``.

A supervisord (a kept process manager: it restarts a crashed service) runs S3
(SeaweedFS), PostgreSQL, the Prefect server and its workers, the lean MLflow tracking
server, the S3 event receiver with its SeaweedFS bridge, and the model server; their
state, secrets and logs live under ``<AGROLAKE_HOME>/stack/``. See docs/deploy.md.

Like the library, this package never imports Prefect: it runs the ``prefect`` command.
"""

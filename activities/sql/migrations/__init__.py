"""The partner center's schema migrations (Alembic), shipped inside the package
so an installed ``unbind`` finds them: ``unbind db upgrade`` runs them,
``unbind db current`` shows where a database stands.

- :mod:`~activities.sql.migrations.revisions`: the head, a database's revision,
  the check every process makes before using a database;
- :mod:`~activities.sql.migrations.upgrade`: bringing a database to the head,
  including one created by the code before migrations existed;
- ``versions/``: one file per revision, ``NNNN_what.py``, each naming the one before.

Nothing here imports :mod:`activities.sql.database` at package import time:
the database module imports :mod:`~activities.sql.migrations.revisions`.
"""

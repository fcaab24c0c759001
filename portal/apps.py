from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The read side: the search table and search, the pages and the API that combine the
    catalog, its licenses and approvals. It subscribes to what the layers below announce."""

    name = "portal"
    verbose_name = "Catalog pages and API"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import receivers  # noqa: F401  (connects the search table to the layers below)
        from .searchwords import words

        def sqlite_functions(sender, connection, **kwargs) -> None:
            # PostgreSQL has canopy_words() from catalog migration 0013; SQLite the Python one.
            if connection.vendor == "sqlite":
                connection.connection.create_function("canopy_words", 1, words, deterministic=True)

        connection_created.connect(sqlite_functions, weak=False, dispatch_uid="canopy_words")

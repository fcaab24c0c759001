from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from .searchwords import words

        def sqlite_functions(sender, connection, **kwargs) -> None:
            # PostgreSQL has canopy_words() from migration 0013; SQLite gets the Python one.
            if connection.vendor == "sqlite":
                connection.connection.create_function("canopy_words", 1, words, deterministic=True)

        connection_created.connect(sqlite_functions, weak=False, dispatch_uid="canopy_words")

"""Marketplace providers: API clients, auth and mappings. They know no Django model; the
integration services translate between these dataclasses and the database."""

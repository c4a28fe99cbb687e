"""The platform's database backend (`ENGINE = "apps.core.db"`): see `base`."""

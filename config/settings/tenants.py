"""django-tenants: schema per tenant, routed by hostname."""

from config.settings.env import env

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"

# New tenants are cloned from this migrated schema (apps/tenants/cloning.py, ~0.4 s per tenant
# measured by bench/tenant_provisioning.py) instead of migrating from scratch (~40 s here,
# mostly dj-stripe's migrations). `manage.py release` keeps it migrated on every deploy.
TENANT_BASE_SCHEMA = env("TENANT_BASE_SCHEMA", default="tenant_base")
TENANT_CREATION_FAKES_MIGRATIONS = True

# Tenant lookups by hostname are cached in each process for this long (suspensions and domain
# changes take effect within it). 0 turns the cache off.
TENANT_LOOKUP_CACHE_SECONDS = env.int("TENANT_LOOKUP_CACHE_SECONDS", default=5)

# The platform operators' hostname (public schema: operators' admin, health, metrics).
PUBLIC_DOMAIN = env("PUBLIC_DOMAIN", default="localhost")
# Tenants get "<slug>.<TENANT_DOMAIN_SUFFIX>" unless given a domain of their own.
TENANT_DOMAIN_SUFFIX = env("TENANT_DOMAIN_SUFFIX", default="localhost")

# `SET search_path` once per request (when the schema changes), not before every statement: with
# persistent connections it was half of an order's round trips. django-tenants re-issues it after
# a rollback (a rolled-back SET is gone) and whenever set_tenant / set_schema changes the schema.
TENANT_LIMIT_SET_CALLS = True

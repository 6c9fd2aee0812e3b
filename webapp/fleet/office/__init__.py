"""The fleet server: PostgreSQL schema, enrolment, ingest, packs, central unload and pages."""

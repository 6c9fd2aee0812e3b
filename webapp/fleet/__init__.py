"""The fleet office: every HHT's jobs in one PostgreSQL.

``protocol`` is what both sides share; ``client`` is the HHT's side (joining, collecting
and pushing batches, fetching packs: the only part the terminal's own code imports);
``office`` is the fleet server (schema, enrolment, ingest, packs, central unload, pages).
"""

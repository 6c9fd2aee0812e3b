"""The keyed audit chain over every job event of the terminal (README, "Checking the audit
chain").

One chain runs through every event of the device in sequence order.  Each event's *record*
is the canonical JSON of every column of its row (id, sequence, job, time, kind, message,
data, actor, time source, uncertainty and offset); its *link* is SHA-256 over the previous
link and the record's SHA-256, so anyone holding the records can recompute the links; its
*MAC* is HMAC-SHA256 over the link under a key kept owner-only in the data directory, so
rewriting history and recomputing the links is found without the key.  The newest head
(sequence, link, keyed MAC) is kept beside the events on every append; checked heads are
recorded in ``audit_heads`` and in a file in the data directory; unloads carry heads signed
with the terminal's identity key.

The modules: ``key`` (the HMAC key file), ``chain`` (records, links, MACs, the head row),
``heads`` (recorded heads and the head file), ``verify`` (walking the chain),
``state`` (what the last check found; the start-up check), ``job`` (a job page's view),
``migrate`` (schema m007: the chain started over the events already there).
"""

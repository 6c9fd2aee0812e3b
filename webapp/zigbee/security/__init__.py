"""Zigbee NWK and APS frame security: CCM*, the auxiliary security header, hashed keys
and frame counters.  Pure byte conversion apart from the outgoing counter's file."""

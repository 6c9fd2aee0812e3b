"""GBCS codec: parse, describe and build Great Britain Companion Specification messages.

Modules: ``message`` (MAC wrapper and General-Signing), ``header`` (grouping header), ``gbt``
(block transfer), ``gbz``/``zcl`` (Zigbee payloads), ``dlms`` (DLMS COSEM payloads), ``asn1``
(DER payloads), ``signing`` (ECDSA and the certificate store), ``mac``, ``outcome``,
``usecases`` and ``describe`` (the human-readable view). Parsers raise only
:class:`~webapp.gbcs.errors.GbcsError` for malformed input.
"""

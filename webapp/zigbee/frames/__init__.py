"""Codecs for the frames the HHT sends and receives: MAC, Inter-PAN, NWK, APS, ZCL and the
Smart Energy Key Establishment and Tunneling clusters.  Pure byte conversion, no I/O."""

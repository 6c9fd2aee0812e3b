"""The HHT's side of the fleet office: join, sync (push batches, fetch packs), the pusher."""

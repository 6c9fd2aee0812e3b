"""Work packs: the supplier's signed bundle of jobs and DUIS local commands, and the
unload that hands the devices' answers back (README, "Work packs")."""

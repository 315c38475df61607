"""music_recs: shared core (configuration, logging, raw data, warehouse files, data generator)."""

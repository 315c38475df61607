-- Track popularity and trend per phase (fit: pairs of events_fit at label_start; serve: of
-- events_train at split_date), both phases in one pass. Only tracks heard in a phase have a row.
{{ track_features() }}

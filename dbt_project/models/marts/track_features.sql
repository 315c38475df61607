-- Track popularity and trend per phase (fit: from events_fit at label_start; serve: from
-- events_train at split_date). Only tracks with a listen in the phase have a row.
{{ track_features_for('fit', ref('events_fit'), 'label_start') }}
union all
{{ track_features_for('serve', ref('events_train'), 'split_date') }}

-- User activity per phase (fit: up to label_start; serve: up to split_date).
{{ user_features_for('fit', ref('events_fit'), ref('int_user_days_deduplicated'), 'label_start') }}
union all
{{ user_features_for('serve', ref('events_train'), ref('int_user_days_deduplicated'), 'split_date') }}

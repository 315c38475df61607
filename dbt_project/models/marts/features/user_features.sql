-- User activity per phase (fit: up to label_start; serve: up to split_date), both in one pass.
{{ user_features() }}

-- Raw track id -> canonical id (smallest raw id with the same standardized name and the same
-- set of canonical artists).
{{ deduplicate_by_name_and_artists('track') }}

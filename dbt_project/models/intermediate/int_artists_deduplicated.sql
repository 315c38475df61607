-- Raw artist id -> canonical id (smallest raw id with the same standardized name).
{{ deduplicate_by_name('artist') }}

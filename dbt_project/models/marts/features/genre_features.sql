-- Genre popularity per phase (users, listens, rank), from that phase's events only.
{{ entity_popularity(ref('item_genres'), 'genre_id') }}

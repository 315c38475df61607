-- Genre popularity per phase (users, listens, rank), from that phase's events only.
{{ entity_popularity(ref('item_genres'), ref('int_user_genres_counted'), 'genre_id') }}

-- Artist popularity per phase (users, listens, rank), from that phase's events only.
{{ entity_popularity(ref('item_artists'), ref('user_artist_affinity'), 'artist_id') }}

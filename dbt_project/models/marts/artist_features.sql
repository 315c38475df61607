-- Artist popularity per phase (users, listens, rank), from that phase's events only.
{{ entity_popularity_for('fit', ref('events_fit'), ref('item_artists'), ref('user_artist_affinity'), 'artist_id') }}
union all
{{ entity_popularity_for('serve', ref('events_train'), ref('item_artists'), ref('user_artist_affinity'), 'artist_id') }}

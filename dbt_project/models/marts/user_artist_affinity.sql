-- Per phase, (user, artist): the user's tracks of the artist and their share of the user's tracks.
{{ user_affinity_for('fit', ref('events_fit'), ref('item_artists'), 'artist_id') }}
union all
{{ user_affinity_for('serve', ref('events_train'), ref('item_artists'), 'artist_id') }}

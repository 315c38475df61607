-- Per phase, (user, genre): the user's tracks of the genre and their share of the user's tracks.
{{ user_affinity_for('fit', ref('events_fit'), ref('item_genres'), 'genre_id') }}
union all
{{ user_affinity_for('serve', ref('events_train'), ref('item_genres'), 'genre_id') }}

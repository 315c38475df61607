-- Per (user, artist), both phases as columns: how many of the user's tracks carry the artist.
{{ user_entity_counts(ref('item_artists'), 'artist_id') }}

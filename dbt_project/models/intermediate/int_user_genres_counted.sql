-- Per (user, genre), both phases as columns: how many of the user's tracks carry the genre.
{{ user_entity_counts(ref('item_genres'), 'genre_id') }}

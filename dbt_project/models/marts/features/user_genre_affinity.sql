{{ config(materialized='view') }}
-- Per (user, genre), both phases as columns: the user's tracks of the genre and their share of the user's tracks.
{{ user_affinity(ref('item_genres'), 'genre_id') }}

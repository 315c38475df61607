{{ config(materialized='view') }}
-- Per (user, artist), both phases as columns: the user's tracks of the artist and their share of the user's tracks.
{{ user_affinity(ref('item_artists'), 'artist_id') }}

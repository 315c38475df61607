{{ config(materialized='view') }}
-- Per (user, genre): int_user_genres_counted plus each phase's share of the user's tracks.
{{ user_affinity_shares(ref('int_user_genres_counted'), 'genre_id') }}

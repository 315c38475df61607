{{ config(materialized='view') }}
-- Per (user, artist): int_user_artists_counted plus each phase's share of the user's tracks.
{{ user_affinity_shares(ref('int_user_artists_counted'), 'artist_id') }}

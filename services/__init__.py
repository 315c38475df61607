"""FastAPI services: final (8000), offline (8001), events (8002), online (8003).

Start them with ``python -m services.run [name]``; see docs/services.md.
"""

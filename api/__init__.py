"""The JSON API and other machine endpoints."""

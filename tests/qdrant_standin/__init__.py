"""A small stand-in for the Qdrant REST API, used by vecsafe's tests only."""

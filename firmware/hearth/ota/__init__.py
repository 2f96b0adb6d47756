"""hearth.ota: the over-the-air update client (TUF metadata, resumable downloads)."""

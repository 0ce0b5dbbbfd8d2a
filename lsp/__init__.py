"""Language server."""

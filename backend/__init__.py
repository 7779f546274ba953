"""gridledger: backend."""

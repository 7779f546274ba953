"""gridledger: storage."""

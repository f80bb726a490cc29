"""The knowledge base and its public help center."""

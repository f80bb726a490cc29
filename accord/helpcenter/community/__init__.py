"""The help center's community: a Q&A forum where customers ask, answer and vote."""

"""Customer analytics: RFM, lifetime value, churn risk, personas and relationship value."""

"""Customer scores: lifetime value, RFM groups, churn risk and personas."""

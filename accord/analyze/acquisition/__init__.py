"""Acquisition: where each person came from (first and last touch), campaigns with
trackable links and QR codes, and the return on each campaign and source."""

"""Retention, the deployment's secret keys, masked log copies."""

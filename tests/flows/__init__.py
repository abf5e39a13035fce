"""Tests of the Prefect flows."""

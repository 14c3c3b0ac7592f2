"""Shared pytest configuration: the package is imported from the source tree."""

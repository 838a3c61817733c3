"""Tests of the config kit (protocol/config) and of the loaders built on it."""

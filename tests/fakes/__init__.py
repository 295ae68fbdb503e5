"""Fake outside servers (real sockets on 127.0.0.1) for adapter tests."""

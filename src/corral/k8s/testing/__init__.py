"""Test support for the Kubernetes backend: an API emulator and fake GPU clusters."""

"""The composition root: settings, the container, the CLI and the long-running `run`."""

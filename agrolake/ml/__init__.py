"""The model lifecycle: training from the lake, the registry gate, the tracking server."""

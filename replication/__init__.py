"""gan-replication: the results that made GANs famous, re-run end to end on real data."""

__version__ = "0.1.0"

"""Raised by a bench case when a peer tool is not installed."""


class PeerUnavailable(RuntimeError):
    pass

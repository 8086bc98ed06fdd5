"""newsmon's core: pure logic and the ports it needs.

Nothing in this package imports ``storage`` or ``worker``, reads the environment or opens a
socket by itself. Network, database, mail and clock reach it through the protocols in
:mod:`feeds.ports`, wired in ``worker.bootstrap``.
"""

"""HEASARC's shape: Xamin TAP over the mission master tables, DataLink, SCS and the ``/FTP`` tree."""

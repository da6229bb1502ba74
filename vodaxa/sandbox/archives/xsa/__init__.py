"""ESA's XSA shape: XMM-Newton's TAP+ service, the AIO data servlet and postcards."""

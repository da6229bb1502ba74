"""Synthetic content that is generated rather than stored: FITS files and X-ray archive files."""

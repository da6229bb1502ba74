"""ESO's shape: tap_obs and tap_cat, DataLink, calSelector, the dataportal and single sign-on."""

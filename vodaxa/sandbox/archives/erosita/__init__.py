"""eROSITA's shape: MPE's Cal-PV tarballs, the eRASS1-DE (DR1) tile tree and its catalogue pages."""

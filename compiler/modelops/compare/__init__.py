"""`modelops compare`: main against shadow or canary on their stored predictions (extra `compare`)."""

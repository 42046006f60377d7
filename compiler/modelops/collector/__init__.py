"""`modelops collect`: CloudEvents from the model servers in, Parquet out (extra `collector`)."""

"""`modelops collect`: CloudEvents from the model servers in, Hive-partitioned Parquet out (extra `collector`)."""

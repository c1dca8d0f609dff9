"""Unit and concurrency tests of the engine: views, values, schema, lock, commits, threads,
processes, and a hypothesis model of the whole StateFile."""

"""Everything that draws: progress displays and tables. Consumes events, runs nothing."""

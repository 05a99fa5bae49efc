"""Named transfer profiles: the jobs file, its validation, locks, history and schedules."""

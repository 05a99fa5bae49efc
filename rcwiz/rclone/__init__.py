"""Everything that knows how rclone is spelled: argv, its JSON log, its config file."""

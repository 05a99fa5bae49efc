"""rcwiz: a wizard and orchestrator for moving research data to and from Nextcloud with rclone."""

__version__ = "0.1.0"

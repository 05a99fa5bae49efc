"""What rclone does not do for Nextcloud: login flow, capabilities, shares, bulk upload.

Only Nextcloud's documented interfaces (developer manual: Login Flow v2, OCS, WebDAV bulk
upload), through the standard library's HTTP client. Credentials come from the rclone remote.
"""

"""Secrets masked in a shown command line: whole values, never substrings."""


def test_show_masks_secret_flag_values_only():
    from rcwiz.rclone.mask import mask_argv as masked

    argv = (
        "rclone",
        "--ask-password=false",
        "copy",
        "a",
        "b",
        "--webdav-pass",
        "s3cr3t",
        "--s3-secret-access-key=abc",
        "--transfers",
        "4",
        "--bearer-token",
        "t",
    )
    assert masked(argv) == [
        "rclone",
        "--ask-password=false",
        "copy",
        "a",
        "b",
        "--webdav-pass",
        "***",
        "--s3-secret-access-key=***",
        "--transfers",
        "4",
        "--bearer-token",
        "***",
    ]

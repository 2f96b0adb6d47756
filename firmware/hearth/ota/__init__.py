"""The OTA client: TUF-verified releases from any static web server (docs/UPDATES.md, part 2).

    select    which target of the signed release set this device takes
    record    the outcome of each check and update, kept on storage
    client    refresh, check, download and install through the launcher
"""

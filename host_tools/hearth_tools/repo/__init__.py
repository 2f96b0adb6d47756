"""The update repository: TUF metadata and Hearth images as a static directory.

    init(DIR)                 keys per role (one file each), root v1, empty targets
    add(DIR, IMAGE, bases)    stage the image (raw + xz) and deltas from each base
    publish(DIR)              sign staged targets, a new snapshot and timestamp
    rotate(DIR, ROLE)         new key(s) for a role, a new root, everything re-signed
    rollout.set_rollout/halt/resume   who is offered a release (signed, in targets)

DIR/public/ is the site to serve (nginx, S3, a CDN); DIR/keys/ holds the
private keys and must never be served. docs/UPDATES.md (part 2) describes the layout.
"""
from .errors import RepoError
from .repository import ROLES, add, init, load, publish, rotate
from .rollout import halt, resume, set_rollout

__all__ = ["RepoError", "ROLES", "init", "load", "add", "publish", "rotate", "set_rollout", "halt", "resume"]

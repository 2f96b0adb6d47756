"""Who is offered a release: rings and percentages, signed inside targets.

A release's rollout is {"rings": {RING: PERCENT}, "halted": bool} on each of
its targets. A device in ring R is offered the release when
hash(device id, release) mod 100 < max(rings[R], rings["all"]) and the
release is not halted (hearth.ota.select). Raising a percentage only adds
devices, because a device's bucket for a release never changes.

Each change is published at once (with anything else staged): halting a
release must not wait for the next `hearth repo publish`.
"""
from .errors import RepoError
from .repository import Repo

EVERYONE = "all"


def _edit(path, version, board, change, now=None):
    repo = Repo(path)
    staged = repo.staged()
    prefix = "%s/%s/" % (board, version)
    hits = [p for p in staged if p.startswith(prefix)]
    if not hits:
        raise RepoError("no release %s for board %s in %s: add it with `hearth repo add`" % (version, board, path))
    rollout = dict(staged[hits[0]].custom.get("rollout") or {"rings": {}, "halted": False})
    rollout["rings"] = dict(rollout.get("rings") or {})
    change(rollout)
    for p in hits:
        staged[p].unrecognized_fields["custom"]["rollout"] = rollout
    repo.stage(staged)
    return dict(repo.publish(now=now), release="%s/%s" % (board, version), rollout=rollout)


def set_rollout(path, version, board, percent, ring=EVERYONE, now=None):
    if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
        raise RepoError("--percent must be a whole number from 0 to 100, not %r" % (percent,))
    if not ring or not ring.replace("-", "").replace("_", "").isalnum():
        raise RepoError("ring name %r: use letters, digits, - and _" % (ring,))

    def change(r):
        r["rings"][ring] = percent
    return _edit(path, version, board, change, now)


def halt(path, version, board, now=None):
    def change(r):
        r["halted"] = True
    return _edit(path, version, board, change, now)


def resume(path, version, board, now=None):
    def change(r):
        r["halted"] = False
    return _edit(path, version, board, change, now)

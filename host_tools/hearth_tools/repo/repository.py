"""The repository directory: configuration, staged targets, published metadata.

    DIR/repo.json                 thresholds and expiry per role (yours to edit)
    DIR/keys/ROLE-KEYID.pem       private keys (offline; never served)
    DIR/staged/targets.json       the next targets metadata, unsigned
    DIR/public/metadata/          N.root.json, root.json (the newest, for
                                  provisioning), V.targets.json, V.snapshot.json,
                                  timestamp.json
    DIR/public/targets/B/V/SHA256.NAME   images, compressed images, deltas

Consistent snapshots: every file but timestamp.json is written once under a
name that changes with its content, so a client reading during a publish sees
either the old release set or the new one, never a mix; timestamp.json is
written last, atomically.
"""
import copy
import datetime
import json
import os

from .errors import RepoError
from . import keys as keymod

ROLES = ("root", "targets", "snapshot", "timestamp")
CONFIG = "repo.json"
STAGED = os.path.join("staged", "targets.json")
PUBLIC = "public"
METADATA = os.path.join(PUBLIC, "metadata")
TARGETS = os.path.join(PUBLIC, "targets")
DEFAULT_EXPIRY_DAYS = {"root": 365, "targets": 90, "snapshot": 7, "timestamp": 1}
SPEC_VERSION = "1.0.31"


def _now(now):
    t = now or datetime.datetime.now(datetime.timezone.utc)
    return t.replace(microsecond=0)


def write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _serialize(md):
    # compact: every device fetches timestamp.json at every check, so its
    # whitespace is paid fleet-wide (the check with nothing new is ~1 KB)
    from tuf.api.serialization.json import JSONSerializer
    return md.to_bytes(JSONSerializer(compact=True))


class Repo:
    """One repository directory, loaded. Library functions below wrap it."""

    def __init__(self, path):
        self.path = path
        cfg = os.path.join(path, CONFIG)
        if not os.path.isfile(cfg):
            raise RepoError("%s is not a repository (no %s): run `hearth repo init %s`" % (path, CONFIG, path),
                            usage=True)
        try:
            with open(cfg, encoding="utf-8") as f:
                self.config = json.load(f)
            self.expiry = {r: int(self.config["expiry_days"][r]) for r in ROLES}
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise RepoError("%s: unreadable (%s): fix or re-create it" % (cfg, e)) from None
        self.root = self._load_meta("root.json")
        self.timestamp = self._load_meta("timestamp.json")
        snap_v = self.timestamp.signed.snapshot_meta.version
        self.snapshot = self._load_meta("%d.snapshot.json" % snap_v)
        targ_v = self.snapshot.signed.meta["targets.json"].version
        self.targets = self._load_meta("%d.targets.json" % targ_v)

    def file(self, *parts):
        return os.path.join(self.path, *parts)

    def _load_meta(self, name):
        from tuf.api.metadata import Metadata
        p = self.file(METADATA, name)
        try:
            with open(p, "rb") as f:
                return Metadata.from_bytes(f.read())
        except OSError as e:
            raise RepoError("cannot read %s: %s (the repository is incomplete)" % (p, e.strerror)) from None
        except Exception as e:     # the deserializer raises several kinds
            raise RepoError("%s is not valid TUF metadata: %s" % (p, e)) from None

    # -- staged targets -------------------------------------------------------
    def staged(self):
        """The targets dict the next publish signs (a copy of the published one
        until something is staged)."""
        from tuf.api.metadata import Metadata
        p = self.file(STAGED)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                return Metadata.from_bytes(f.read()).signed.targets
        return copy.deepcopy(self.targets.signed.targets)

    def stage(self, targets):
        from tuf.api.metadata import Metadata, Targets
        md = Metadata(Targets(version=self.targets.signed.version, expires=self.targets.signed.expires,
                              targets=targets))
        write_atomic(self.file(STAGED), _serialize(md))

    def has_staged(self):
        return os.path.isfile(self.file(STAGED))

    # -- signing --------------------------------------------------------------
    def signers(self, role, root=None):
        r = (root or self.root).signed.roles[role]
        found = keymod.signers_for(self.path, set(r.keyids))
        if len(found) < r.threshold:
            raise RepoError("role %s needs %d signature(s) but only %d of its keys are in %s: restore the key "
                            "files" % (role, r.threshold, len(found), self.file(keymod.KEYS_DIR)))
        return list(found.values())

    def sign(self, md, role, root=None):
        md.signatures.clear()
        for s in self.signers(role, root):
            md.sign(s, append=True)
        return md

    def write_meta(self, name, md):
        data = _serialize(md)
        write_atomic(self.file(METADATA, name), data)
        return data

    def expires(self, role, now=None):
        return _now(now) + datetime.timedelta(days=self.expiry[role])

    # -- publishing ------------------------------------------------------------
    def publish(self, now=None, resign_targets=False):
        """Sign staged targets (if any change), then a new snapshot and timestamp."""
        from tuf.api.metadata import Metadata, MetaFile, Snapshot, Targets, Timestamp
        staged = self.staged() if self.has_staged() else None
        targets_data = None
        if staged is not None or resign_targets:
            old = self.targets.signed
            new = Targets(version=old.version + 1, expires=self.expires("targets", now),
                          targets=staged if staged is not None else old.targets)
            md = self.sign(Metadata(new), "targets")
            targets_data = self.write_meta("%d.targets.json" % new.version, md)
            self.targets = md
        else:
            with open(self.file(METADATA, "%d.targets.json" % self.targets.signed.version), "rb") as f:
                targets_data = f.read()
        snap = Snapshot(version=self.snapshot.signed.version + 1, expires=self.expires("snapshot", now),
                        meta={"targets.json": MetaFile.from_data(self.targets.signed.version, targets_data,
                                                                 ["sha256"])})
        smd = self.sign(Metadata(snap), "snapshot")
        snap_data = self.write_meta("%d.snapshot.json" % snap.version, smd)
        self.snapshot = smd
        ts = Timestamp(version=self.timestamp.signed.version + 1, expires=self.expires("timestamp", now),
                       snapshot_meta=MetaFile.from_data(snap.version, snap_data, ["sha256"]))
        tmd = self.sign(Metadata(ts), "timestamp")
        self.write_meta("timestamp.json", tmd)          # last: it makes the rest visible
        self.timestamp = tmd
        if staged is not None:
            os.remove(self.file(STAGED))
        return self.summary()

    def summary(self):
        rel = releases(self.targets.signed.targets)
        return {"repo": self.path, "root": self.root.signed.version, "targets": self.targets.signed.version,
                "snapshot": self.snapshot.signed.version, "timestamp": self.timestamp.signed.version,
                "timestamp_expires": self.timestamp.signed.expires.isoformat(),
                "releases": sorted(rel), "staged": self.has_staged()}


def releases(targets):
    """{"board/version": [target paths]} of a targets dict."""
    out = {}
    for path, tf in targets.items():
        h = (tf.custom or {}).get("hearth") if isinstance(tf.custom, dict) else None
        if isinstance(h, dict):
            out.setdefault("%s/%s" % (h.get("board"), h.get("version")), []).append(path)
    return out


def load(path):
    return Repo(path)


def _check_thresholds(thresholds, counts):
    out, n = {}, {}
    for r in ROLES:
        t = int((thresholds or {}).get(r, 1))
        k = int((counts or {}).get(r, t))
        if t < 1:
            raise RepoError("threshold for %s must be at least 1, not %d" % (r, t))
        if k < t:
            raise RepoError("role %s: %d key(s) cannot meet threshold %d: give more keys" % (r, k, t))
        out[r], n[r] = t, k
    for r in (thresholds or {}):
        if r not in ROLES:
            raise RepoError("unknown role %r: roles are %s" % (r, ", ".join(ROLES)))
    return out, n


def init(path, thresholds=None, key_counts=None, expiry_days=None, now=None):
    """A new repository: keys for every role (one file each), root v1 and an
    empty, published release set. thresholds/key_counts/expiry_days: {role: int}."""
    from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, Targets, Timestamp
    if os.path.exists(os.path.join(path, CONFIG)):
        raise RepoError("%s is already a repository: pick another directory" % path)
    if os.path.isdir(path) and os.listdir(path):
        raise RepoError("%s is not empty: give a new or empty directory" % path)
    thr, counts = _check_thresholds(thresholds, key_counts)
    exp = dict(DEFAULT_EXPIRY_DAYS)
    for r, d in (expiry_days or {}).items():
        if r not in ROLES:
            raise RepoError("unknown role %r: roles are %s" % (r, ", ".join(ROLES)))
        if int(d) < 1:
            raise RepoError("expiry for %s must be at least 1 day" % r)
        exp[r] = int(d)
    os.makedirs(path, exist_ok=True)
    t0 = _now(now)
    root = Root(version=1, expires=t0 + datetime.timedelta(days=exp["root"]), consistent_snapshot=True)
    for r in ROLES:
        for _ in range(counts[r]):
            root.add_key(keymod.generate(path, r).public_key, r)
        root.roles[r].threshold = thr[r]
    cfg = {"format": 1, "expiry_days": exp, "thresholds": thr}
    write_atomic(os.path.join(path, CONFIG), (json.dumps(cfg, indent=2, sort_keys=True) + "\n").encode())
    os.makedirs(os.path.join(path, TARGETS), exist_ok=True)
    # bootstrap by hand: Repo() loads a published repository only
    repo = Repo.__new__(Repo)
    repo.path, repo.config, repo.expiry = path, cfg, exp
    rmd = Metadata(root)
    repo.root = rmd
    repo.sign(rmd, "root")
    data = repo.write_meta("1.root.json", rmd)
    write_atomic(repo.file(METADATA, "root.json"), data)
    tmd = repo.sign(Metadata(Targets(version=1, expires=repo.expires("targets", now))), "targets")
    repo.targets = tmd
    tdata = repo.write_meta("1.targets.json", tmd)
    smd = repo.sign(Metadata(Snapshot(version=1, expires=repo.expires("snapshot", now), meta={
        "targets.json": MetaFile.from_data(1, tdata, ["sha256"])})), "snapshot")
    repo.snapshot = smd
    sdata = repo.write_meta("1.snapshot.json", smd)
    repo.timestamp = repo.sign(Metadata(Timestamp(version=1, expires=repo.expires("timestamp", now),
                                                  snapshot_meta=MetaFile.from_data(1, sdata, ["sha256"]))),
                               "timestamp")
    repo.write_meta("timestamp.json", repo.timestamp)
    return dict(repo.summary(), thresholds=thr, keys={r: counts[r] for r in ROLES}, expiry_days=exp,
                root_file=repo.file(METADATA, "root.json"))


def publish(path, now=None):
    return Repo(path).publish(now=now)


def rotate(path, role, now=None):
    """Replace every key of `role` with new ones (same count), sign a new root
    with the old and the new root keys, re-sign what the role signs and
    publish. The old key files move to keys/retired/."""
    from tuf.api.metadata import Metadata
    if role not in ROLES:
        raise RepoError("unknown role %r: roles are %s" % (role, ", ".join(ROLES)))
    repo = Repo(path)
    old_root = repo.root
    old_root_signers = repo.signers("root")
    new = copy.deepcopy(old_root.signed)
    old_ids = list(new.roles[role].keyids)
    for kid in old_ids:
        new.revoke_key(kid, role)
    for _ in old_ids:
        new.add_key(keymod.generate(path, role).public_key, role)
    new.version += 1
    new.expires = repo.expires("root", now)
    md = Metadata(new)
    # the client checks a new root against the old root's keys and its own
    signers = {s.public_key.keyid: s for s in old_root_signers}
    signers.update({s.public_key.keyid: s for s in repo.signers("root", md)})
    for s in signers.values():
        md.sign(s, append=True)
    data = repo.write_meta("%d.root.json" % new.version, md)
    write_atomic(repo.file(METADATA, "root.json"), data)
    repo.root = md
    for kid in old_ids:
        if not any(kid in r.keyids for r in new.roles.values()):
            keymod.retire(path, kid)
    return dict(repo.publish(now=now, resign_targets=(role == "targets")), rotated=role)


def add(path, image_path, delta_from=(), now=None):
    """Stage a release: the image, its xz copy and a delta from each base."""
    from . import targets as tmod
    repo = Repo(path)
    staged = repo.staged()
    added = tmod.stage_release(repo, staged, image_path, delta_from)
    repo.stage(staged)
    return dict(repo.summary(), added=added)

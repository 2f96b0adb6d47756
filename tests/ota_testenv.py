"""A signed update repository (made with hearth_tools.repo, as `hearth repo`
does) and a provisioned device running 1.0.0, copied fresh for each test."""
import os
import shutil

from hearth.boot.device import load_board
from hearth.boot.launcher import Launcher, init
from hearth.boot.storage import DirStorage
from hearth.ota.client import Client
from hearth_tools import repo
from hearth_tools.testing import testkit

BOARD = "testboard"


class Template:
    """Built once per module: keys, images, the repository and a device."""

    def __init__(self, d):
        self.dir = str(d)
        os.makedirs(self.dir, exist_ok=True)
        self.key = testkit.keygen(os.path.join(self.dir, "image-key.pem"))
        self.other_key = testkit.keygen(os.path.join(self.dir, "attacker-image-key.pem"))
        self.board_path = testkit.write_board(self.dir, slot_bytes=64 * 1024)
        self.other_board = testkit.write_board(self.dir, name="otherboard", slot_bytes=64 * 1024)
        self.images = {}
        for name, version, sc, key, board in [
                ("v1", "1.0.0", 1, self.key, self.board_path), ("v2", "1.1.0", 2, self.key, self.board_path),
                ("v3", "1.2.0", 3, self.key, self.board_path),
                ("other", "1.3.0", 3, self.key, self.other_board),
                ("badsig", "1.3.0", 3, self.other_key, self.board_path)]:
            path = os.path.join(self.dir, "%s.img" % name)
            with open(path, "wb") as f:
                f.write(testkit.small_image(key, board, version, sc))
            self.images[name] = path
        self.repo = os.path.join(self.dir, "repo")
        repo.init(self.repo, thresholds={"targets": 2})
        repo.add(self.repo, self.images["v2"])
        repo.publish(self.repo)
        repo.set_rollout(self.repo, "1.1.0", BOARD, 100)
        self.storage = os.path.join(self.dir, "device")
        st = DirStorage(self.storage)
        init(st, load_board(self.board_path), [("image-key.pem", open(self.key, "rb").read())])
        L = Launcher(st)
        with open(self.images["v1"], "rb") as f:
            L.install(f)
        d = L.select()
        L.materialize(d)
        L.confirm()


class Env:
    """A fresh copy of the template: its own repository, device and nginx."""

    def __init__(self, template, tmp_path, nginx_server, device_id="device-0001", ring="all"):
        self.t = template
        self.repo = str(tmp_path / "repo")
        self.storage = str(tmp_path / "device")
        shutil.copytree(template.repo, self.repo, symlinks=True)
        shutil.copytree(template.storage, self.storage, symlinks=True)
        self.public = os.path.join(self.repo, "public")
        started = nginx_server(self.public)      # a started NginxServer (or a URL from a custom starter)
        self.url = started if isinstance(started, str) else started.url
        self.client = Client(self.storage, url=self.url)
        with open(os.path.join(self.public, "metadata", "1.root.json"), "rb") as f:
            self.client.init(f.read(), device_id=device_id, ring=ring, url=self.url)

    def meta(self, name):
        return os.path.join(self.public, "metadata", name)

    def launcher(self):
        return Launcher(DirStorage(self.storage))

    def running(self):
        """(running version, pending slot) from the launcher."""
        s = self.launcher().status()
        return s["version"], s["pending"]


def load_meta(path):
    from tuf.api.metadata import Metadata
    with open(path, "rb") as f:
        return Metadata.from_bytes(f.read())


def write_meta(path, md):
    from tuf.api.serialization.json import JSONSerializer
    data = md.to_bytes(JSONSerializer(compact=False))
    with open(path, "wb") as f:
        f.write(data)
    return data


def sign_as(env, md, role, limit=None, signers=None):
    """Sign md with the repository's keys for `role` (a compromised key, or
    `signers` of the attacker's own); at most `limit` of them."""
    from hearth_tools.repo import keys
    root = load_meta(env.meta("root.json"))
    if signers is None:
        signers = list(keys.signers_for(env.repo, set(root.signed.roles[role].keyids)).values())
    md.signatures.clear()
    for s in signers[:limit]:
        md.sign(s, append=True)
    return md


def forge_timestamp(env, snapshot_version, snapshot_data, version=None, expires=None):
    """A timestamp for this snapshot, signed with the (compromised) timestamp key."""
    from tuf.api.metadata import MetaFile
    ts = load_meta(env.meta("timestamp.json"))
    ts.signed.version = version or ts.signed.version + 1
    if expires is not None:
        ts.signed.expires = expires
    ts.signed.snapshot_meta = MetaFile.from_data(snapshot_version, snapshot_data, ["sha256"])
    write_meta(env.meta("timestamp.json"), sign_as(env, ts, "timestamp"))


def forge_snapshot(env, targets_version, targets_data, expires=None):
    """A new snapshot for this targets file and a timestamp for it (snapshot
    and timestamp keys compromised)."""
    from tuf.api.metadata import MetaFile
    ts = load_meta(env.meta("timestamp.json"))
    snap = load_meta(env.meta("%d.snapshot.json" % ts.signed.snapshot_meta.version))
    snap.signed.version += 1
    if expires is not None:
        snap.signed.expires = expires
    snap.signed.meta["targets.json"] = MetaFile.from_data(targets_version, targets_data, ["sha256"])
    data = write_meta(env.meta("%d.snapshot.json" % snap.signed.version), sign_as(env, snap, "snapshot"))
    forge_timestamp(env, snap.signed.version, data)


def current_targets(env):
    ts = load_meta(env.meta("timestamp.json"))
    snap = load_meta(env.meta("%d.snapshot.json" % ts.signed.snapshot_meta.version))
    v = snap.signed.meta["targets.json"].version
    return v, load_meta(env.meta("%d.targets.json" % v))


def forge_targets(env, change, limit=None, signers=None, expires=None):
    """New targets metadata changed by change(targets_md), signed as given,
    plus a snapshot and timestamp for it."""
    v, md = current_targets(env)
    md.signed.version = v + 1
    if expires is not None:
        md.signed.expires = expires
    change(md)
    sign_as(env, md, "targets", limit=limit, signers=signers)
    data = write_meta(env.meta("%d.targets.json" % (v + 1)), md)
    forge_snapshot(env, v + 1, data)

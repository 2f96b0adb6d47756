"""The TUF attack list against the OTA client, over HTTP from nginx serving a
repository made by hearth_tools.repo (what `hearth repo` runs).

Every attack ends the same way: the update is refused, the device still runs
1.0.0 with nothing pending, and the reason is logged and recorded. Control
runs show the same client does install 1.1.0 from the untouched repository,
so each refusal is the attack's doing.
"""
import datetime
import logging
import os
import shutil

import pytest

from hearth_tools import repo
from ota_testenv import (BOARD, Env, Template, current_targets, forge_snapshot, forge_targets,
                         forge_timestamp, load_meta, sign_as, write_meta)
from nginx_server import nginx_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return Template(tmp_path_factory.mktemp("ota-attacks"))


@pytest.fixture
def env(template, tmp_path, nginx_server):  # noqa: F811
    return Env(template, tmp_path, nginx_server)


def refused(env, caplog, code, text=None):
    """Run one update: it must be refused with `code`, logged, recorded, and
    the device must still run 1.0.0 with nothing staged."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hearth.ota"):
        out = env.client.update()
    assert out["event"] == "refused", out
    assert out["code"] == code, out
    if text:
        assert text in out["reason"], out
    assert any(code in r.getMessage() for r in caplog.records), caplog.text
    assert env.client.status()["last_outcome"]["code"] == code
    assert env.running() == ("1.0.0", None)
    return out


def installed(env):
    out = env.client.update()
    assert out["event"] == "installed", out
    assert env.running() == ("1.0.0", "b")
    return out


def past(days=1):
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(days=days)


def test_control_untouched_repository_installs(env):
    out = installed(env)
    assert out["version"] == "1.1.0" and out["kind"] == "full"


# -- rollback of each role ---------------------------------------------------------
def test_rollback_timestamp(env, caplog):
    old = open(env.meta("timestamp.json"), "rb").read()
    repo.publish(env.repo)
    env.client.refresh()                        # the device has seen the newer timestamp
    open(env.meta("timestamp.json"), "wb").write(old)
    refused(env, caplog, "bad-version", "timestamp")


def test_rollback_snapshot(env, caplog):
    ts = load_meta(env.meta("timestamp.json"))
    repo.publish(env.repo)
    env.client.refresh()
    v = ts.signed.snapshot_meta.version         # an older, validly signed snapshot
    forge_timestamp(env, v, open(env.meta("%d.snapshot.json" % v), "rb").read())
    refused(env, caplog, "bad-version", "snapshot")


def test_rollback_targets(env, caplog):
    v, _md = current_targets(env)
    env.client.refresh()
    old = v - 1
    forge_snapshot(env, old, open(env.meta("%d.targets.json" % old), "rb").read())
    refused(env, caplog, "bad-version", "targets")


def test_rollback_root(env, caplog):
    repo.rotate(env.repo, "timestamp")          # root v2, signed by the same root key as v1
    env.client.refresh()
    assert env.client.status()["root_version"] == 2
    shutil.copy(env.meta("1.root.json"), env.meta("3.root.json"))   # an old root offered as the next one
    refused(env, caplog, "bad-version", "root")


# -- indefinite freeze: a mirror that keeps serving what has expired -----------------
def test_freeze_expired_timestamp(env, caplog):
    repo.publish(env.repo, now=past(2))         # timestamp expiry is 1 day: expired yesterday
    refused(env, caplog, "expired", "timestamp")


def test_freeze_expired_snapshot(env, caplog):
    v, md = current_targets(env)
    forge_snapshot(env, v, open(env.meta("%d.targets.json" % v), "rb").read(), expires=past())
    refused(env, caplog, "expired", "snapshot")


def test_freeze_expired_targets(env, caplog):
    forge_targets(env, lambda md: None, expires=past())
    refused(env, caplog, "expired", "targets")


# -- mix-and-match: metadata of one release with metadata of another -----------------
def test_mix_and_match_targets(env, caplog):
    v, _md = current_targets(env)
    shutil.copy(env.meta("%d.targets.json" % (v - 1)), env.meta("%d.targets.json" % v))
    refused(env, caplog, "length-or-hash")


def test_mix_and_match_snapshot(env, caplog):
    ts = load_meta(env.meta("timestamp.json"))
    v = ts.signed.snapshot_meta.version
    shutil.copy(env.meta("%d.snapshot.json" % (v - 1)), env.meta("%d.snapshot.json" % v))
    refused(env, caplog, "length-or-hash")


# -- fast-forward: a compromised key pushes a huge version; rotation recovers -------
@pytest.mark.parametrize("role", ["timestamp", "snapshot"])
def test_fast_forward_then_recovery_by_rotation(env, caplog, role):
    real = open(env.meta("timestamp.json"), "rb").read()
    if role == "timestamp":
        ts = load_meta(env.meta("timestamp.json"))
        v = ts.signed.snapshot_meta.version
        forge_timestamp(env, v, open(env.meta("%d.snapshot.json" % v), "rb").read(), version=10 ** 6)
    else:
        ts = load_meta(env.meta("timestamp.json"))
        snap = load_meta(env.meta("%d.snapshot.json" % ts.signed.snapshot_meta.version))
        snap.signed.version = 10 ** 6
        data = write_meta(env.meta("%d.snapshot.json" % 10 ** 6), sign_as(env, snap, "snapshot"))
        forge_timestamp(env, 10 ** 6, data)
    env.client.refresh()                        # the device trusts the fast-forwarded version
    open(env.meta("timestamp.json"), "wb").write(real)     # the mirror serves the real repository again
    repo.publish(env.repo)                      # the real repository carries on with small versions
    repo.publish(env.repo)                      # (past the forged timestamp's own version)
    refused(env, caplog, "bad-version", role)
    repo.rotate(env.repo, role)                 # new keys: the fast-forwarded metadata no longer verifies
    if role == "snapshot":
        # the trusted timestamp still names the forged snapshot version and its
        # key still verifies it: recovery needs the timestamp key rotated too
        refused(env, caplog, "bad-version", "snapshot")
        repo.rotate(env.repo, "timestamp")
    installed(env)


# -- endless data ------------------------------------------------------------------
def test_endless_timestamp(env, caplog):
    with open(env.meta("timestamp.json"), "ab") as f:
        f.write(b" " * (1 << 20))
    refused(env, caplog, "too-long")


def test_endless_snapshot(env, caplog):
    ts = load_meta(env.meta("timestamp.json"))
    with open(env.meta("%d.snapshot.json" % ts.signed.snapshot_meta.version), "ab") as f:
        f.write(b" " * 4096)
    refused(env, caplog, "too-long")


def _served_target(env, path):
    _v, md = current_targets(env)
    tf = md.signed.targets[path]
    d, name = os.path.split(path)
    return os.path.join(env.public, "targets", d, "%s.%s" % (tf.hashes["sha256"], name))


def _chosen(env):
    path, _meta, why = env.client.check()
    assert path, why
    return path


def test_endless_target(env, caplog):
    with open(_served_target(env, _chosen(env)), "ab") as f:
        f.write(os.urandom(1 << 20))
    refused(env, caplog, "too-long")


# -- arbitrary software -------------------------------------------------------------
def test_target_replaced_same_length(env, caplog):
    p = _served_target(env, _chosen(env))
    data = bytearray(open(p, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(p, "wb").write(bytes(data))
    refused(env, caplog, "length-or-hash")


def _add_evil_target(md):
    from tuf.api.metadata import TargetFile
    _v = md.signed.targets
    good = next(tf for tf in _v.values() if tf.custom["hearth"]["kind"] == "full")
    evil = TargetFile.from_data(BOARD + "/9.9.9/evil.img", b"evil", ["sha256"])
    evil.unrecognized_fields["custom"] = {"hearth": dict(good.custom["hearth"], version="9.9.9"),
                                          "rollout": {"rings": {"all": 100}, "halted": False}}
    md.signed.targets[evil.path] = evil


def test_targets_signed_by_unknown_key(env, caplog):
    from securesystemslib.signer import CryptoSigner
    attacker = [CryptoSigner.generate_ed25519(), CryptoSigner.generate_ed25519()]
    forge_targets(env, _add_evil_target, signers=attacker)
    refused(env, caplog, "unsigned", "targets")


def test_targets_unsigned(env, caplog):
    forge_targets(env, _add_evil_target, signers=[])
    refused(env, caplog, "unsigned", "targets")


def test_image_not_signed_by_device_key(env, caplog):
    """The repository is intact and signs it; the launcher's own image keys still refuse it."""
    repo.add(env.repo, env.t.images["badsig"])
    repo.publish(env.repo)
    repo.set_rollout(env.repo, "1.3.0", BOARD, 100)
    out = refused(env, caplog, "launcher:unknown-key")
    assert out["version"] == "1.3.0"
    again = installed(env)                      # not fetched again: the newest release it can install
    assert again["version"] == "1.1.0"


# -- wrong hardware ------------------------------------------------------------------
def test_other_board_not_offered(env, caplog):
    repo.add(env.repo, env.t.images["other"])
    repo.publish(env.repo)
    repo.set_rollout(env.repo, "1.3.0", "otherboard", 100)
    repo.halt(env.repo, "1.1.0", BOARD)
    out = env.client.update()
    assert out["event"] == "nothing" and "halted" in out["reason"]
    assert env.running() == ("1.0.0", None)
    with pytest.raises(Exception) as e:
        env.client.download("otherboard/1.3.0/hearth-otherboard-1.3.0.img")
    assert getattr(e.value, "code", None) == "wrong-hardware"
    assert env.running() == ("1.0.0", None)


def test_metadata_claims_this_board_for_another_boards_image(env, caplog):
    def relabel(md):
        for tf in md.signed.targets.values():
            if tf.path.startswith("otherboard/"):
                tf.custom["hearth"]["board"] = BOARD
                tf.custom["hearth"]["arch"] = env.launcher().status()["arch"]
                tf.custom["rollout"] = {"rings": {"all": 100}, "halted": False}
    repo.add(env.repo, env.t.images["other"])
    repo.publish(env.repo)
    forge_targets(env, relabel)                 # every targets key: only the launcher is left to refuse
    out = refused(env, caplog, "launcher:wrong-board")
    assert out["version"] == "1.3.0"


# -- compromised keys below the threshold --------------------------------------------
def test_one_of_two_targets_keys(env, caplog):
    root = load_meta(env.meta("root.json"))
    assert root.signed.roles["targets"].threshold == 2
    forge_targets(env, _add_evil_target, limit=1)
    refused(env, caplog, "unsigned", "targets")
    forge_targets(env, lambda md: md.signed.targets.pop(BOARD + "/9.9.9/evil.img"))   # both keys: accepted
    installed(env)


def test_compressed_target_that_does_not_expand_to_the_named_image(env, caplog):
    """Targets keys sign an .xz whose content is not the image its metadata
    names: the bytes are counted and hashed as the launcher reads them, and
    the install is refused before the launcher commits anything."""
    def lie(md):
        for tf in md.signed.targets.values():
            if tf.path.endswith(".img.xz"):
                tf.custom["hearth"]["image_sha256"] = "00" * 32
    forge_targets(env, lie)
    refused(env, caplog, "image-mismatch")
    assert env.launcher().status()["last_event"]["event"] != "install"

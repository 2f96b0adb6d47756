"""`hearth repo` and `hearth rollout`: keys per role in separate files,
thresholds and expiry, the static layout (consistent snapshots, hashed
target names), the custom target metadata, xz copies, rotation."""
import datetime
import hashlib
import json
import lzma
import os

import pytest

from hearth_tools import cli
from hearth_tools.testing import testkit
from tuf.api.metadata import Metadata

pytestmark = pytest.mark.timeout(300)


def hearth(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("repo-images")
    key = testkit.keygen(str(d / "k.pem"))
    board = testkit.write_board(str(d), slot_bytes=64 * 1024)
    out = {}
    for name, version, sc in (("v1", "1.0.0", 1), ("v2", "1.1.0", 2)):
        p = d / ("%s.img" % name)
        p.write_bytes(testkit.small_image(key, board, version, sc))
        out[name] = str(p)
    return out


def meta(d, name):
    with open(os.path.join(d, "public", "metadata", name), "rb") as f:
        return Metadata.from_bytes(f.read())


def test_init_keys_thresholds_expiry(tmp_path, capsys):
    d = str(tmp_path / "r")
    rc, out, err = hearth(capsys, "repo", "init", d, "--threshold", "root=2", "--keys", "targets=3",
                          "--expiry", "timestamp=2", "--json")
    assert rc == 0, err
    keys = sorted(os.listdir(os.path.join(d, "keys")))
    assert [k.split("-")[0] for k in keys] == ["root", "root", "snapshot", "targets", "targets", "targets",
                                               "timestamp"]
    root = meta(d, "1.root.json").signed
    assert root.consistent_snapshot and root.roles["root"].threshold == 2
    assert len(root.roles["targets"].keyids) == 3 and root.roles["targets"].threshold == 1
    assert len(meta(d, "1.root.json").signatures) == 2
    ts = meta(d, "timestamp.json").signed
    left = ts.expires - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(days=1) < left <= datetime.timedelta(days=2)
    assert json.loads(out)["root_file"].endswith("public/metadata/root.json")
    pub = os.path.join(d, "public")
    served = [os.path.relpath(os.path.join(p, f), pub) for p, _d, fs in os.walk(pub) for f in fs]
    assert served and not any(s.endswith(".pem") or "keys" in s for s in served)   # keys never served
    rc, out, err = hearth(capsys, "repo", "init", d)
    assert rc == 1 and "already a repository" in err
    rc, out, err = hearth(capsys, "repo", "init", str(tmp_path / "x"), "--threshold", "targets=2",
                          "--keys", "targets=1")
    assert rc == 1 and "cannot meet threshold" in err
    rc, out, err = hearth(capsys, "repo", "publish", str(tmp_path / "nothing"))
    assert rc == 2 and "not a repository" in err


def test_add_publish_layout_and_custom_metadata(tmp_path, capsys, images):
    d = str(tmp_path / "r")
    assert hearth(capsys, "repo", "init", d)[0] == 0
    rc, out, err = hearth(capsys, "repo", "add", d, images["v2"])
    assert rc == 0, err
    assert meta(d, "timestamp.json").signed.version == 1          # staged, not yet published
    rc, out, err = hearth(capsys, "repo", "publish", d, "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert (r["targets"], r["snapshot"], r["timestamp"]) == (2, 2, 2)
    targets = meta(d, "2.targets.json").signed.targets
    assert sorted(targets) == ["testboard/1.1.0/hearth-testboard-1.1.0.img",
                               "testboard/1.1.0/hearth-testboard-1.1.0.img.xz"]
    data = open(images["v2"], "rb").read()
    for path, tf in targets.items():
        served = os.path.join(d, "public", "targets", "testboard", "1.1.0",
                              "%s.%s" % (tf.hashes["sha256"], os.path.basename(path)))
        blob = open(served, "rb").read()
        assert hashlib.sha256(blob).hexdigest() == tf.hashes["sha256"] and len(blob) == tf.length
        h = tf.custom["hearth"]
        assert h["board"] == "testboard" and h["version"] == "1.1.0" and h["security_counter"] == 2
        assert h["min_launcher_version"] == "1.0.0" and h["image_sha256"] == hashlib.sha256(data).hexdigest()
        assert h["models"] == []
        assert tf.custom["rollout"] == {"rings": {}, "halted": False}     # offered to nobody yet
        if path.endswith(".xz"):
            assert lzma.decompress(blob) == data and len(blob) < len(data)
    snap = meta(d, "2.snapshot.json").signed
    assert snap.meta["targets.json"].version == 2 and snap.meta["targets.json"].hashes
    rc, out, err = hearth(capsys, "repo", "add", d, images["v1"], "--delta-from", images["v2"])
    try:
        import hearth_tools.delta  # noqa: F401
    except ImportError:
        assert rc == 1 and err.strip().endswith("delta support not installed")
    else:
        assert rc == 0, err


def test_model_metadata_names_missing_fields(tmp_path):
    """A real image with models: per model its hash, feature schema,
    quantization, calibration version; what the image does not say is null."""
    from hearth_tools.image import build
    from hearth_tools.repo import targets as T
    key = testkit.keygen(str(tmp_path / "k.pem"))
    board = testkit.write_board(str(tmp_path), slot_bytes=4 << 20)
    data, _s = build.build_image(board, "1.0.0", key, models_dir=os.path.join(build.ROOT, "models"),
                                 include_firmware=False, with_native=False, calibration_version="cal-3",
                                 extra_files={"app.py": testkit.APP}, entry="app")
    p = tmp_path / "m.img"
    p.write_bytes(data)
    models = T.image_metadata(*T.read_image(str(p)))["models"]
    assert {m["name"] for m in models} >= {"alexa", "hey_jarvis"}
    for m in models:
        assert len(m["sha256"]) == 64 and m["calibration_version"] == "cal-3"
        assert m["feature_schema"] is not None and m["quantization"]
        assert "training_data_snapshot" in m and m["training_data_snapshot"] is None


def test_rollout_commands_and_rotation(tmp_path, capsys, images):
    d = str(tmp_path / "r")
    assert hearth(capsys, "repo", "init", d)[0] == 0
    assert hearth(capsys, "repo", "add", d, images["v2"])[0] == 0
    rc, out, err = hearth(capsys, "rollout", "set", d, "1.1.0", "--board", "testboard", "--ring", "canary",
                          "--percent", "10", "--json")
    assert rc == 0, err
    assert json.loads(out)["rollout"] == {"rings": {"canary": 10}, "halted": False}
    v = json.loads(out)["targets"]
    tf = next(iter(meta(d, "%d.targets.json" % v).signed.targets.values()))
    assert tf.custom["rollout"]["rings"] == {"canary": 10}              # signed, published at once
    rc, out, err = hearth(capsys, "rollout", "halt", d, "1.1.0", "--board", "testboard", "--json")
    assert rc == 0 and json.loads(out)["rollout"]["halted"] is True
    rc, out, err = hearth(capsys, "rollout", "resume", d, "1.1.0", "--board", "testboard", "--json")
    assert rc == 0 and json.loads(out)["rollout"]["halted"] is False
    rc, out, err = hearth(capsys, "rollout", "set", d, "9.9.9", "--board", "testboard", "--percent", "5")
    assert rc == 1 and "no release 9.9.9" in err
    rc, out, err = hearth(capsys, "rollout", "set", d, "1.1.0", "--board", "testboard", "--percent", "101")
    assert rc == 2
    old = set(meta(d, "root.json").signed.roles["targets"].keyids)
    rc, out, err = hearth(capsys, "repo", "rotate", d, "targets", "--json")
    assert rc == 0, err
    root2 = meta(d, "2.root.json")
    assert root2.signed.version == 2 and not old & set(root2.signed.roles["targets"].keyids)
    assert os.listdir(os.path.join(d, "keys", "retired"))
    r = json.loads(out)
    t = meta(d, "%d.targets.json" % r["targets"])
    assert set(t.signatures) == set(root2.signed.roles["targets"].keyids)
    root2.verify_delegate("targets", t)


def test_an_unwritable_repository_path_is_one_line(tmp_path, capsys):
    from hearth_tools.cli import main
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["repo", "init", str(blocker / "repo")])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "check the path" in err and "Traceback" not in err, err

"""The OTA client: target choice (rings, buckets, halts, delta vs full), the
`python -m hearth.ota` command line against nginx, and an update that boots
as a trial and confirms."""
import json
import os
import subprocess
import sys

import pytest

from hearth.ota import select
from hearth_tools import repo
from ota_testenv import BOARD, Env, Template
from nginx_server import nginx_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(300)


def _h(version, kind="full", compression="xz", sc=2, base=None, board=BOARD, arch="x86_64"):
    h = {"board": board, "arch": arch, "version": version, "security_counter": sc, "min_launcher_version": "1.0.0",
         "kind": kind, "compression": compression}
    if base:
        h["base_digest"] = base
    return h


def _targets(rollout, *items):
    return {"%s/%s/%d" % (h["board"], h["version"], i): {"hearth": h, "rollout": rollout}
            for i, h in enumerate(items)}


def _device(**kw):
    d = {"board": BOARD, "arch": "x86_64", "device_id": "dev-1", "ring": "all", "version": "1.0.0",
         "digest": "aa" * 32, "security_counter": 1, "launcher_version": "1.0.0", "kinds": {"full", "xz", "delta"}}
    d.update(kw)
    return d


EVERYONE = {"rings": {"all": 100}, "halted": False}


def test_bucket_is_fixed_per_device_and_release_and_spread():
    assert select.bucket("dev-1", "b/1.1.0") == select.bucket("dev-1", "b/1.1.0")
    buckets = [select.bucket("dev-%d" % i, "b/1.1.0") for i in range(2000)]
    assert all(0 <= b < 100 for b in buckets)
    share = sum(b < 10 for b in buckets) / len(buckets)
    assert 0.07 < share < 0.13, share                      # about 10 % of devices below 10
    other = [select.bucket("dev-%d" % i, "b/1.2.0") for i in range(2000)]
    assert buckets != other                                # each release draws anew


def test_growing_a_ring_only_adds_devices():
    ids = ["dev-%d" % i for i in range(500)]
    rel = "b/1.1.0"
    prev = set()
    for pct in (1, 5, 10, 25, 50, 100):
        now = {d for d in ids if select.offered({"rings": {"canary": pct}, "halted": False}, "canary",
                                                select.bucket(d, rel))}
        assert prev <= now
        prev = now
    assert prev == set(ids)


def test_ring_membership_and_everyone():
    r = {"rings": {"internal": 100, "all": 0}, "halted": False}
    assert select.offered(r, "internal", 99)
    assert not select.offered(r, "canary", 0)
    assert select.offered({"rings": {"all": 100}, "halted": False}, "canary", 99)
    assert not select.offered({"rings": {"all": 100}, "halted": True}, "all", 0)
    assert not select.offered({"rings": {"all": 100}}, "all", 0)       # no explicit halted flag: not offered
    assert not select.offered({"rings": {}, "halted": False}, "all", 0)


def test_choice_prefers_matching_delta_then_xz_then_full():
    base = "aa" * 32
    t = _targets(EVERYONE, _h("1.1.0", "full", None), _h("1.1.0", "full", "xz"),
                 _h("1.1.0", "delta", None, base="bb" * 32), _h("1.1.0", "delta", None, base=base))
    path, h, _why = select.choose(t, _device())
    assert h["kind"] == "delta" and h["base_digest"] == base
    path, h, _why = select.choose(t, _device(digest="cc" * 32))        # no delta from this image
    assert h["kind"] == "full" and h["compression"] == "xz"
    path, h, _why = select.choose(t, _device(kinds={"full"}))
    assert h["kind"] == "full" and h["compression"] is None


def test_choice_refuses_old_wrong_hardware_counter_launcher_and_halted():
    dev = _device()
    assert select.choose(_targets(EVERYONE, _h("1.0.0")), dev)[0] is None              # not newer
    assert select.choose(_targets(EVERYONE, _h("1.1.0", board="x")), dev)[0] is None   # other board
    assert select.choose(_targets(EVERYONE, _h("1.1.0", arch="aarch64")), dev)[0] is None
    assert select.choose(_targets(EVERYONE, _h("1.1.0", sc=0)), dev)[0] is None        # below counter
    h = dict(_h("1.1.0"), min_launcher_version="2.0.0")
    assert "launcher" in select.choose(_targets(EVERYONE, h), dev)[2]
    halted = dict(EVERYONE, halted=True)
    path, _h2, why = select.choose(_targets(halted, _h("1.1.0")), dev)
    assert path is None and "halted" in why
    # a halted newest release does not hide an older one that is still offered
    t = _targets(halted, _h("1.2.0"))
    t.update(_targets(EVERYONE, _h("1.1.0")))
    assert select.choose(t, dev)[1]["version"] == "1.1.0"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return Template(tmp_path_factory.mktemp("ota-client"))


def ota(storage, *args):
    r = subprocess.run([sys.executable, "-m", "hearth.ota"] + list(args[:1]) + ["--storage", storage]
                       + list(args[1:]), capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def test_cli_init_refresh_check_download_install_status(template, tmp_path, nginx_server):  # noqa: F811
    env = Env(template, tmp_path, nginx_server)
    st2 = str(tmp_path / "device2")
    import shutil
    shutil.copytree(template.storage, st2, symlinks=True)
    root = env.meta("1.root.json")
    rc, out, err = ota(st2, "check")
    assert rc == 1 and "not initialized" in err
    rc, out, err = ota(st2, "init", root, "--url", env.url, "--device-id", "d-7", "--json")
    assert rc == 0, err
    assert json.loads(out)["device_id"] == "d-7"
    rc, out, err = ota(st2, "init", root)
    assert rc == 1 and "already initialized" in err
    rc, out, err = ota(st2, "init", str(tmp_path / "missing.json"), "--force")
    assert rc == 2 and "cannot read" in err
    rc, out, err = ota(st2, "refresh", "--json")
    assert rc == 0, err
    assert json.loads(out)["timestamp_version"] >= 1
    rc, out, err = ota(st2, "check", "--json")
    assert rc == 0, err
    target = json.loads(out)["target"]
    assert target.endswith(".img.xz")
    rc, out, err = ota(st2, "install")
    assert rc == 1 and "nothing is downloaded" in err
    rc, out, err = ota(st2, "download", target, "--json")
    assert rc == 0, err
    rc, out, err = ota(st2, "install", "--json")
    assert rc == 0, err
    assert json.loads(out)["version"] == "1.1.0"
    rc, out, err = ota(st2, "status", "--json")
    assert rc == 0 and json.loads(out)["downloaded"] is None
    rc, out, err = ota(st2, "download", "nope/1.0/x.img")
    assert rc == 1 and "no target" in err
    rc, out, err = ota(st2, "update", "--json")         # a trial is pending: nothing to do
    assert rc == 0 and json.loads(out)["event"] == "nothing", err


def test_update_boots_as_trial_and_confirms(template, tmp_path, nginx_server):  # noqa: F811
    env = Env(template, tmp_path, nginx_server)
    out = env.client.update()
    assert out["event"] == "installed" and out["version"] == "1.1.0"
    L = env.launcher()
    d = L.select()
    assert d.trial and d.verified.version == "1.1.0"
    L.materialize(d)
    L.confirm()
    assert env.running() == ("1.1.0", None)
    again = env.client.update()                         # nothing new: a check only
    assert again["event"] == "nothing" and "up to date" in again["reason"]
    state = json.load(open(os.path.join(env.storage, "ota", "state.json")))
    assert state["last_outcome"]["event"] == "installed"
    assert [h["event"] for h in state["history"]] == ["installed", "nothing"]


def test_rollout_ring_and_halt_decide_the_offer(template, tmp_path, nginx_server):  # noqa: F811
    env = Env(template, tmp_path, nginx_server, device_id="dev-ring", ring="canary")
    rel = BOARD + "/1.1.0"
    b = select.bucket("dev-ring", rel)
    repo.set_rollout(env.repo, "1.1.0", BOARD, 0)                   # nobody in "all"
    repo.set_rollout(env.repo, "1.1.0", BOARD, b, ring="canary")    # just below this device
    out = env.client.update()
    assert out["event"] == "nothing" and "not offered" in out["reason"]
    repo.halt(env.repo, "1.1.0", BOARD)
    repo.set_rollout(env.repo, "1.1.0", BOARD, b + 1, ring="canary")
    out = env.client.update()
    assert out["event"] == "nothing" and "halted" in out["reason"]
    repo.resume(env.repo, "1.1.0", BOARD)
    assert env.client.update()["event"] == "installed"


def test_delta_is_taken_when_its_base_is_running(template, tmp_path, nginx_server):  # noqa: F811
    env = Env(template, tmp_path, nginx_server)
    repo.add(env.repo, template.images["v3"], [template.images["v1"], template.images["v2"]])
    repo.publish(env.repo)
    repo.set_rollout(env.repo, "1.2.0", BOARD, 100)
    out = env.client.update()
    assert out["event"] == "installed" and out["kind"] == "delta" and out["version"] == "1.2.0", out


def test_check_with_nothing_new_fetches_only_the_timestamp(template, tmp_path):
    """Up to date: the client asks for the next root (404) and timestamp.json, nothing else."""
    from nginx_server import NginxServer
    srv = NginxServer(str(tmp_path / "repo" / "public"))

    def start(root):
        assert root == srv.root
        return srv.start()
    try:
        env = Env(template, tmp_path, start)
        env.client.update()
        L = env.launcher()
        L.materialize(L.select())
        L.confirm()
        before = len(srv.access_log())
        out = env.client.update()
        assert out["event"] == "nothing"
        rows = srv.access_log(wait_for=before + 2)[before:]
        paths = [r["uri"] for r in rows]
        assert paths == ["/metadata/2.root.json", "/metadata/timestamp.json"], paths
        status = [r["status"] for r in rows]
        sizes = [r["body_bytes"] for r in rows]
        assert status == [404, 200]
        print("bytes of body for a check with nothing new: %d (timestamp %d)" % (sum(sizes), sizes[1]))
    finally:
        srv.stop()


def test_next_check_delay_has_jitter_in_bounds():
    import random
    from hearth.ota.schedule import next_check_delay
    rng = random.Random(12)
    delays = [next_check_delay(3600, 0.25, rng) for _ in range(1000)]
    assert all(2700 <= d <= 4500 for d in delays)
    assert max(delays) - min(delays) > 1500           # spread, not one instant for the fleet
    with pytest.raises(ValueError):
        next_check_delay(0)


def test_init_refuses_a_tampered_root_and_force_replaces(template, tmp_path, nginx_server):  # noqa: F811
    from tuf.api import exceptions
    from hearth.ota.client import Client
    env = Env(template, tmp_path, nginx_server)
    env.client.refresh()
    raw = open(env.meta("1.root.json"), "rb").read()
    tampered = raw.replace(b'"consistent_snapshot":true', b'"consistent_snapshot":false')    # compact JSON
    assert tampered != raw
    c = Client(env.storage, url=env.url)
    with pytest.raises(exceptions.UnsignedMetadataError):
        c.init(tampered, force=True)
    assert c.status()["root_version"] == 1                 # the trusted root is untouched
    repo.rotate(env.repo, "root")
    c.init(open(env.meta("2.root.json"), "rb").read(), device_id="d", force=True)
    c.refresh()
    assert c.status()["root_version"] == 2 and c.config["device_id"] == "d"


def test_xz_needing_more_memory_than_the_limit_is_refused(tmp_path):
    """The client streams compressed targets through the fetcher's one decoder."""
    import io
    import lzma
    from hearth.ota.fetcher import DecompressError, DecompressingReader
    from hearth_tools.repo.targets import compress_xz
    data = bytes(range(256)) * 512
    assert lzma.decompress(compress_xz(data)) == data
    r = DecompressingReader(io.BytesIO(compress_xz(data)), "xz", max_output=len(data))
    assert b"".join(iter(lambda: r.read(4096), b"")) == data
    big = lzma.compress(data, preset=9)                  # declares a 64 MiB dictionary
    with pytest.raises(DecompressError):
        DecompressingReader(io.BytesIO(big), "xz", max_output=len(data)).read(4096)
    with pytest.raises(DecompressError):                 # cut short
        r = DecompressingReader(io.BytesIO(compress_xz(data)[:100]), "xz", max_output=len(data))
        while r.read(4096):
            pass

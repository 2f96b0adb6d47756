"""ngclient through HearthFetcher against a small TUF repository on nginx, and streamed decompression.

The repository is made with the python-tuf Metadata API (one ED25519 key per
role, consistent snapshots, a zstd-compressed image as the target). The
refresh runs through HearthFetcher, directly and through the fault proxy
(cuts inside metadata bodies are resumed with Range); the target comes down
with ResumableDownload.for_target and is decompressed while it streams.
"""
import datetime
import lzma
import os
import random

import pytest
import zstandard

from faultproxy import FaultProxy
from nginx_server import nginx_server  # noqa: F401  (fixture)
from hearth.ota.fetcher import (Bounds, DecompressError, DecompressingReader, DecompressingWriter,
                                HearthFetcher, ResumableDownload)
from simdisk import SimStorage
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import MetaFile, Metadata, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer
from tuf.ngclient import Updater

SEED = int(os.environ.get("HEARTH_SEED", "20261204"))
BOUNDS = Bounds(stall_timeout=3.0, retry_delay=0.01, max_retry_delay=0.02)


def image_bytes():
    rng = random.Random(SEED)                 # compressible: repeated records with some noise
    return b"".join(b"record %06d %s\n" % (i, rng.randbytes(8).hex().encode()) for i in range(40000))


@pytest.fixture
def repo(tmp_path, nginx_server):  # noqa: F811
    print("HEARTH_SEED=%d" % SEED)
    meta, tdir = tmp_path / "metadata", tmp_path / "targets"
    meta.mkdir()
    tdir.mkdir()
    expires = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(days=7)
    signers = {r: CryptoSigner.generate_ed25519() for r in ("root", "targets", "snapshot", "timestamp")}
    root = Metadata(Root(expires=expires))
    root.signed.consistent_snapshot = True
    for role, s in signers.items():
        root.signed.add_key(s.public_key, role)
    image = image_bytes()
    packed = zstandard.ZstdCompressor(level=9).compress(image)
    tf = TargetFile.from_data("hearth.img.zst", packed, ["sha256"])
    tf.unrecognized_fields["custom"] = {"board": "testboard", "compression": "zstd", "size": len(image)}
    targets = Metadata(Targets(expires=expires))
    targets.signed.targets[tf.path] = tf
    snapshot = Metadata(Snapshot(expires=expires))
    snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
    timestamp = Metadata(Timestamp(expires=expires))
    timestamp.signed.snapshot_meta = MetaFile(version=snapshot.signed.version)
    ser = JSONSerializer(compact=False)
    for md, role, name in ((root, "root", "1.root.json"), (targets, "targets", "1.targets.json"),
                           (snapshot, "snapshot", "1.snapshot.json"), (timestamp, "timestamp", "timestamp.json")):
        md.sign(signers[role], append=False)
        md.to_file(str(meta / name), ser)
    (tdir / ("%s.hearth.img.zst" % tf.hashes["sha256"])).write_bytes(packed)
    srv = nginx_server(str(tmp_path))
    srv.image, srv.packed, srv.tmp_path = image, packed, tmp_path
    srv.root_json = (meta / "1.root.json").read_bytes()
    return srv


def updater(repo, base, local, fetcher, bootstrap=True):
    local.mkdir(exist_ok=True)
    return Updater(str(local), base + "metadata/", None, base + "targets/", fetcher=fetcher,
                   bootstrap=repo.root_json if bootstrap else None)


def test_refresh_and_download_through_the_fetcher(repo, tmp_path):
    fetcher = HearthFetcher(bounds=BOUNDS)
    up = updater(repo, repo.url, tmp_path / "local", fetcher)
    up.refresh()
    ti = up.get_targetinfo("hearth.img.zst")
    assert ti is not None and ti.custom["board"] == "testboard"
    url = repo.url + "targets/%s.hearth.img.zst" % ti.hashes["sha256"]
    dl = ResumableDownload.for_target(SimStorage(), "ota/dl", url, ti, bounds=BOUNDS)
    assert dl.run(60) == "done", dl.last_error
    out = DecompressingReader(dl.reader(), "zstd", max_output=ti.custom["size"])
    assert out.read() == repo.image
    assert len(repo.packed) < len(repo.image) // 2

    # a check with nothing new: the next root (404) and the timestamp, nothing else
    n = len(repo.access_log(wait_for=6))
    again = HearthFetcher(bounds=BOUNDS)
    updater(repo, repo.url, tmp_path / "local", again, bootstrap=False).refresh()
    new = repo.access_log(wait_for=n + 2)[n:]
    assert [(r["uri"], r["status"]) for r in new] == [("/metadata/2.root.json", 404),
                                                       ("/metadata/timestamp.json", 200)]
    print("check with nothing new: %d bytes in, %d out" % (again.stats["wire_in"], again.stats["wire_out"]))


def test_refresh_resumes_cut_metadata_bodies(repo, tmp_path):
    proxy = FaultProxy(repo.port, seed=SEED, faults=("cut", "reset"), p=1.0, max_faults=3, at=(400, 900))
    base = proxy.start()
    try:
        fetcher = HearthFetcher(bounds=BOUNDS)
        up = updater(repo, base, tmp_path / "local", fetcher)
        up.refresh()
        assert up.get_targetinfo("hearth.img.zst") is not None
    finally:
        proxy.stop()
    assert proxy.events and fetcher.stats["resumes"] >= 1, (proxy.events, fetcher.stats)
    assert any(r["status"] == 206 for r in repo.access_log())


def test_metadata_longer_than_allowed_is_refused(repo, tmp_path):
    from tuf.api import exceptions as tuf_exc
    from tuf.ngclient import UpdaterConfig
    local = tmp_path / "local"
    local.mkdir()
    up = Updater(str(local), repo.url + "metadata/", None, repo.url + "targets/",
                 fetcher=HearthFetcher(bounds=BOUNDS), config=UpdaterConfig(timestamp_max_length=100),
                 bootstrap=repo.root_json)
    with pytest.raises(tuf_exc.DownloadLengthMismatchError):
        up.refresh()


@pytest.mark.parametrize("fmt", ["zstd", "xz"])
def test_decompressing_writer_streams_and_checks(fmt):
    data = image_bytes()
    packed = zstandard.ZstdCompressor(write_checksum=True).compress(data) if fmt == "zstd" else lzma.compress(data)
    out = []
    w = DecompressingWriter(out.append, fmt, max_output=len(data))
    for i in range(0, len(packed), 1000):
        w.write(packed[i:i + 1000])
    w.close()
    assert b"".join(out) == data and max(map(len, out)) < len(data)       # streamed, not all at once

    w = DecompressingWriter(lambda b: None, fmt, max_output=len(data))
    w.write(packed[:-10])
    with pytest.raises(DecompressError, match="truncated"):
        w.close()
    w = DecompressingWriter(lambda b: None, fmt, max_output=len(data) - 1)   # a bomb, in small
    with pytest.raises(DecompressError, match="expands past"):
        w.write(packed)
    w = DecompressingWriter(lambda b: None, fmt, max_output=len(data))
    with pytest.raises(DecompressError, match="after the end"):
        w.write(packed + b"\0" * 300)
        w.close()
    bad = bytearray(packed)          # (the TUF hash refuses this first; the frame checksum is a second line)
    bad[len(bad) // 2] ^= 0xFF
    with pytest.raises(DecompressError):
        w = DecompressingWriter(lambda b: None, fmt, max_output=len(data))
        w.write(bytes(bad))
        w.close()


def test_decoder_memory_is_bounded():
    """A stream that needs a bigger window / dictionary than the device allows is refused."""
    data = image_bytes()[:200000]
    zc = zstandard.ZstdCompressor(compression_params=zstandard.ZstdCompressionParameters(window_log=26))
    zo = zc.compressobj()                       # streamed: the size is unknown, so the 64 MiB window stays
    big = {"xz": lzma.compress(data, preset=9),                              # 64 MiB dictionary
           "zstd": zo.compress(data) + zo.flush()}
    for fmt, packed in big.items():
        w = DecompressingWriter(lambda b: None, fmt, max_output=len(data), max_memory=16 << 20)
        with pytest.raises(DecompressError, match="more than 16 MiB"):
            w.write(packed)
            w.close()
        out = []
        w = DecompressingWriter(out.append, fmt, max_output=len(data), max_memory=128 << 20)
        w.write(packed)
        w.close()
        assert b"".join(out) == data

"""Every fuzz target, in one table: what runs, from which real seeds, how long.

A row is a Target. `kind` says how it runs: "native" is a libFuzzer
executable built from native/fuzz/<name>.c (cmake -DHEARTH_FUZZ=ON), "python"
is a function in fuzz_python.py run under atheris. `seeds(directory, work)` writes
the seed corpus into `directory` (`work` is a scratch directory shared by
all targets of a run): real files (models, golden data, images the test kit signs),
so mutations start from deep, valid structure. To fuzz a new parser, add its
target (a native/fuzz/fuzz_*.c or a fuzz_python.py function), a row here, and
record its floor (docs/FUZZING.md).
"""
import glob
import os
import shutil

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _copy(directory, pattern):
    paths = sorted(glob.glob(os.path.join(ROOT, pattern)))
    if not paths:
        raise FileNotFoundError("no seed files match %s (run `make models`?)" % pattern)
    for p in paths:
        shutil.copy(p, os.path.join(directory, os.path.basename(p)))


def model_seeds(directory, work):
    """The wake-word models plus every single-op golden model."""
    for pattern in ("models/*.tflite", "tests/golden/ops_conv/*.tflite", "tests/golden/ops_quant_shape/*.tflite"):
        _copy(directory, pattern)


DETECTOR_SEED_SAMPLES = 32000          # fuzz_detector's MAX_SAMPLES (2 s)


def detector_seeds(directory, work):
    """fuzz_detector input: 8 bytes of block-size schedule, then int16 PCM.
    The golden detector recording (real speech) cut into 2 s pieces, each with
    a different schedule."""
    with open(os.path.join(ROOT, "tests", "golden", "frontend", "detector_input.s16"), "rb") as f:
        pcm = f.read()
    step = DETECTOR_SEED_SAMPLES * 2
    for k, at in enumerate(range(0, len(pcm), step)):
        schedule = bytes((k * 37 + i * 11) % 256 for i in range(8))
        with open(os.path.join(directory, "speech%02d" % k), "wb") as f:
            f.write(schedule + pcm[at:at + step])


_IMAGES = {}


# Kept across runs (build/ is not committed) so a reproducer of image_mcuboot
# replays with the key its run trusted.
SIGNING_KEY = os.path.join(ROOT, "build", "fuzz", "fuzz-key.pem")


def _signed_images(work):
    """Small real images signed through the test kit (imgtool keys): [bytes]."""
    if work not in _IMAGES:
        from hearth_tools.testing import testkit
        key = SIGNING_KEY
        if not os.path.exists(key):
            os.makedirs(os.path.dirname(key), exist_ok=True)
            testkit.keygen(key)
        board = testkit.write_board(work, slot_bytes=64 * 1024)
        sets = [None, {"app.py": testkit.APP, "a/b.txt": b"hello\n"},
                {"app.py": testkit.APP, "cfg/x.json": b'{"a": 1}', "d/e/f.bin": bytes(range(256))}]
        _IMAGES[work] = [testkit.small_image(key, board, "1.%d.0" % i, i + 1, files=files)
                         for i, files in enumerate(sets)]
    return _IMAGES[work]


def image_seeds(directory, work):
    for i, image in enumerate(_signed_images(work)):
        with open(os.path.join(directory, "image%d.bin" % i), "wb") as f:
            f.write(image)


def archive_seeds(directory, work):
    from hearth.image import mcuboot
    _copy(directory, "tests/golden/image/*.tar")
    for i, image in enumerate(_signed_images(work)):
        with open(os.path.join(directory, "payload%d.tar" % i), "wb") as f:
            f.write(mcuboot.parse(image).payload(image))


def manifest_seeds(directory, work):
    from hearth.image import archive, mcuboot
    for i, image in enumerate(_signed_images(work)):
        files = archive.files(mcuboot.parse(image).payload(image))
        with open(os.path.join(directory, "manifest%d.json" % i), "wb") as f:
            f.write(files["manifest.json"])


def smp_seeds(directory, work):
    """Real SMP requests, framed by Hearth's encoder and by the `smp` package's
    (smpclient's peer), and one bare packet (the UDP form)."""
    import cbor2
    import smp.packet as peer
    from hearth.smp import framing
    from hearth.smp.header import Header

    def pkt(op, group, command, body, seq):
        data = cbor2.dumps(body)
        return Header(op, group, command, seq, len(data)).pack() + data
    requests = [pkt(2, 0, 0, {"d": "hello"}, 1), pkt(0, 0, 6, {}, 2), pkt(0, 0, 7, {"format": "a"}, 3),
                pkt(2, 9, 0, {"argv": ["echo", "a b"]}, 4), pkt(0, 1, 0, {}, 5),
                pkt(2, 1, 1, {"off": 0, "len": 300, "sha": bytes(32), "data": bytes(range(200))}, 6),
                pkt(2, 1, 0, {"hash": bytes(32), "confirm": False}, 7), pkt(0, 2, 0, {"name": "loop"}, 8)]
    for i, p in enumerate(requests):
        with open(os.path.join(directory, "framed%d" % i), "wb") as f:
            f.write(framing.encode(p) if i % 2 else b"".join(peer.encode(p)))
        with open(os.path.join(directory, "packet%d" % i), "wb") as f:
            f.write(p)


def _inputs(name):
    """A seed writer of input_seeds.py, imported when it runs (it imports this module)."""
    def seeds(directory, work):
        import input_seeds
        return getattr(input_seeds, name)(directory, work)
    seeds.__name__ = name
    return seeds


class Target:
    def __init__(self, name, kind, seeds, seconds, max_len, env=None, what=""):
        self.name = name
        self.kind = kind
        self.seeds = seeds
        self.seconds = seconds       # share of the `make test` budget
        self.max_len = max_len
        self.env = env or {}         # extra environment of the target process
        self.what = what


TARGETS = [
    Target("fuzz_model", "native", model_seeds, 45, 100000,
           what="model loader + invoke + reset (native/fuzz/fuzz_model.c)"),
    Target("fuzz_detector", "native", detector_seeds, 45, DETECTOR_SEED_SAMPLES * 2 + 8,
           env={"HEARTH_FUZZ_MODEL": os.path.join(ROOT, "models", "okay_nabu.tflite")},
           what="frontend + detector feed, any block schedule (native/fuzz/fuzz_detector.c)"),
    Target("image_mcuboot", "python", image_seeds, 40, 16384,
           env={"HEARTH_FUZZ_KEY": SIGNING_KEY},
           what="MCUboot container, whole and streamed (hearth.image.mcuboot)"),
    Target("image_archive", "python", archive_seeds, 40, 16384,
           what="bundle archive reader vs tarfile (hearth.image.archive)"),
    Target("image_manifest", "python", manifest_seeds, 20, 4096,
           what="bundle manifest loader (hearth.image.manifest)"),
    Target("smp_frame", "python", smp_seeds, 20, 4096,
           what="SMP console framing, header and CBOR body (hearth.smp)"),
    # -- the device's other untrusted inputs and the host's reply parsing (fuzz_inputs.py)
    Target("boot_state", "python", _inputs("state_seeds"), 13, 8192,
           what="launcher state, confirm and device records (hearth.boot.state)"),
    Target("board_toml", "python", _inputs("board_seeds"), 13, 8192,
           what="board files: validate() and the strict load() (hearth.board)"),
    Target("console_line", "python", _inputs("console_seeds"), 13, 2048,
           what="console line discipline + shell (hearth.core.linedisc, hearth.core.shell)"),
    Target("ota_record", "python", _inputs("ota_record_seeds"), 10, 4096,
           what="OTA outcome record and config read back (hearth.ota.record)"),
    Target("ota_select", "python", _inputs("select_seeds"), 13, 8192,
           what="target selection over targets custom metadata (hearth.ota.select)"),
    Target("ota_decompress", "python", _inputs("decompress_seeds"), 13, 65536,
           what="zstd/xz DecompressingReader, bounded (hearth.ota.fetcher)"),
    Target("device_reply", "python", _inputs("device_seeds"), 13, 4096,
           what="host Console reading device output (hearth_tools.device)"),
]


def _delta_seeds(directory, work):
    import fuzz_delta
    return fuzz_delta.delta_seeds(directory, work)


TARGETS.append(Target("delta_patch", "python", _delta_seeds, 20, 16384,
                      what="delta patch parser + streaming applier (hearth.delta)"))
BY_NAME = {t.name: t for t in TARGETS}

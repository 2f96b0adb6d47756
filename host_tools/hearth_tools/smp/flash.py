"""`hearth flash`: put a signed image on a device over SMP and see it confirmed.

    flash(client, image_bytes, reconnect=fn)  -> {"result": "confirmed" | "skipped" | "pending", ...}

1. the device's MCUmgr parameters give the buffer, so each upload request
   carries as much as it holds (smpmgr sends ~147 B whatever the device says);
2. state read: a slot already holding this image (by its image-hash TLV) skips
   the upload: running and confirmed, nothing to do; pending, just reset;
3. upload, following the device's `off`; a lost answer is re-sent (`retries`
   per request); a link that stays dead is reopened (`reconnect`) and the upload
   restarts at 0 with the same sha, which the device answers with the offset
   it already holds (resume, also across a device reset);
4. the image must now be pending (the launcher's checks passed), then reset;
5. with `wait_s`, reopen the port until the device answers again and read the
   state until the image runs confirmed (its health check passed) or the
   device runs another one (it reverted): FlashError saying so.
"""
import hashlib
import time

from hearth.image import mcuboot
from hearth.image.errors import ImageError

from ..errors import HearthError
from ..transport import TransportError, TransportTimeout

FRAME_OVERHEAD = 2 + 8 + 2          # length field, SMP header, CRC
CBOR_OVERHEAD = 96                  # {"off", "data", "len", "sha"(32), "image"} keys and heads, with room
DEFAULT_WAIT_S = 120.0
DEFAULT_RESUMES = 5


class FlashError(HearthError):
    exit_code = 1


def chunk_size(buf_size):
    return max(64, int(buf_size) - FRAME_OVERHEAD - CBOR_OVERHEAD)


def _find(images, digest):
    return [i for i in images if i.get("hash") == digest]


def flash(client, image, reconnect=None, progress=None, wait_s=DEFAULT_WAIT_S, resumes=DEFAULT_RESUMES,
          reset=True, clock=time.monotonic, sleep=time.sleep):
    try:
        img = mcuboot.parse(image)
    except ImageError as e:
        raise FlashError("%s: not a signed Hearth/MCUboot image (build one with `hearth image build`)" % e)
    digest = img.digest
    out = {"version": img.version_str, "hash": digest.hex(), "size": len(image)}
    buf = client.params().get("buf_size", 384)
    out["buf_size"] = buf
    have = _find(client.images(), digest)
    if any(i.get("active") and i.get("confirmed") for i in have):
        return dict(out, result="skipped", reason="the device already runs this image, confirmed")
    if not any(i.get("pending") for i in have):
        t0 = clock()
        sent0 = client.sent_bytes
        _upload(client, image, chunk_size(buf), reconnect, progress, resumes)
        took = max(clock() - t0, 1e-9)
        out.update(upload_s=took, line_bytes_per_byte=(client.sent_bytes - sent0) / float(len(image)))
        have = _find(client.images(), digest)
        if not any(i.get("pending") for i in have):
            client.test(digest)             # a device that does not stage on upload (MCUboot)
            if not any(i.get("pending") for i in _find(client.images(), digest)):
                raise FlashError("the device took the upload but does not boot it next: "
                                 "check `smpmgr image state-read` and the device log")
    if not reset:
        return dict(out, result="pending")
    try:
        client.reset()
    except TransportError:
        pass                                # the device may go before its answer does
    if not wait_s:
        return dict(out, result="reset")
    return dict(out, **_wait_confirmed(client, digest, reconnect, wait_s, clock, sleep))


def _upload(client, image, chunk, reconnect, progress, resumes):
    sha = hashlib.sha256(image).digest()
    off = 0
    left = resumes
    while off < len(image):
        body = {"off": off, "data": image[off:off + (chunk - 40 if off == 0 else chunk)]}
        if off == 0:
            body.update({"image": 0, "len": len(image), "sha": sha})
        try:
            ans = client.request(1, 1, body, timeout=max(client.timeout, 60.0) if
                                 off + len(body["data"]) >= len(image) else None)
        except (TransportTimeout, TransportError):
            if reconnect is None or left <= 0:
                raise
            left -= 1
            reconnect()
            off = 0                         # start again: the device says where it stands
            continue
        nxt = ans.get("off")
        if not isinstance(nxt, int) or nxt < 0 or nxt > len(image):
            raise FlashError("the device answered upload off=%r for an image of %d bytes" % (nxt, len(image)))
        off = nxt
        if progress is not None:
            progress(off, len(image))
        if off == len(image) and ans.get("match") is False:
            raise FlashError("the device's SHA-256 of the upload does not match: upload again")


def _wait_confirmed(client, digest, reconnect, wait_s, clock, sleep):
    end = clock() + wait_s
    last = None
    while clock() < end:
        try:
            if reconnect is not None:
                reconnect()
            images = client.images()
        except (TransportError, HearthError) as e:
            last = str(e)
            sleep(0.5)
            continue
        ours = _find(images, digest)
        active = [i for i in images if i.get("active")]
        if any(i.get("active") and i.get("confirmed") for i in ours):
            return {"result": "confirmed"}
        if active and not any(i.get("pending") or i.get("active") for i in ours):
            raise FlashError("the device reverted to %s: the new image did not pass its health check "
                             "(see the device log: `hearth console`, `log`)" % active[0].get("version"))
        sleep(0.5)
    raise FlashError("the device did not confirm the image within %g s (last: %s); raise --wait, or "
                     "check it booted" % (wait_s, last or "it runs it unconfirmed"))

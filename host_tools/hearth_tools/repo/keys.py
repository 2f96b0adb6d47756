"""Role keys: one ED25519 private key per PEM file under DIR/keys/.

A file is named ROLE-KEYID16.pem so a glance tells which role it signs for;
which keys a role really has is what root.json says, never the file name.
"""
import os

from .errors import RepoError

KEYS_DIR = "keys"


def generate(repo_dir, role):
    """A new key for `role`, written 0600. Returns the CryptoSigner."""
    from securesystemslib.signer import CryptoSigner
    signer = CryptoSigner.generate_ed25519()
    d = os.path.join(repo_dir, KEYS_DIR)
    os.makedirs(d, mode=0o700, exist_ok=True)
    path = os.path.join(d, "%s-%s.pem" % (role, signer.public_key.keyid[:16]))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(signer.private_bytes)
    return signer


def load_signer(path):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner
    try:
        with open(path, "rb") as f:
            return CryptoSigner(load_pem_private_key(f.read(), None))
    except (OSError, ValueError, TypeError) as e:
        raise RepoError("cannot load key %s: %s" % (path, e)) from None


def signers_for(repo_dir, keyids):
    """Signers for those of `keyids` whose private key file is present."""
    d = os.path.join(repo_dir, KEYS_DIR)
    found = {}
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else ():
        if not name.endswith(".pem"):
            continue
        stem = name[:-4].rsplit("-", 1)[-1]
        if not any(k.startswith(stem) for k in keyids):
            continue
        s = load_signer(os.path.join(d, name))
        if s.public_key.keyid in keyids:
            found[s.public_key.keyid] = s
    return found


def retire(repo_dir, keyid):
    """Move a revoked key's file to keys/retired/ (kept: an operator may need
    to prove what it signed; never used again)."""
    d = os.path.join(repo_dir, KEYS_DIR)
    for name in os.listdir(d):
        if name.endswith("-%s.pem" % keyid[:16]):
            os.makedirs(os.path.join(d, "retired"), mode=0o700, exist_ok=True)
            os.replace(os.path.join(d, name), os.path.join(d, "retired", name))

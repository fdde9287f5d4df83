# The hashes test/passwords/foreign.test.ts checks, made by the real libraries (Debian 12's
# python3-werkzeug 2.2.2, -django 3.2, -passlib 1.7.4, -bcrypt, -argon2) at low costs.
# Run by test/support/python.ts: `data` is the JSON input, emit() prints the JSON output.
import base64
import hashlib
import secrets

import bcrypt
import django
from argon2 import PasswordHasher, Type
from django.conf import settings
from passlib.hash import bcrypt as passlib_bcrypt
from passlib.hash import pbkdf2_sha1, pbkdf2_sha256, pbkdf2_sha512
from passlib.hash import scrypt as passlib_scrypt
from werkzeug.security import generate_password_hash

H = "django.contrib.auth.hashers."
settings.configure(PASSWORD_HASHERS=[H + n for n in (
    "PBKDF2PasswordHasher", "PBKDF2SHA1PasswordHasher", "Argon2PasswordHasher",
    "BCryptSHA256PasswordHasher", "BCryptPasswordHasher", "SHA1PasswordHasher",
    "MD5PasswordHasher", "UnsaltedSHA1PasswordHasher", "UnsaltedMD5PasswordHasher")])
django.setup()
from django.contrib.auth import hashers as dj  # noqa: E402 (needs the settings)


class Argon2(dj.Argon2PasswordHasher):
    time_cost, memory_cost, parallelism = 1, 1024, 1


class BCryptSHA256(dj.BCryptSHA256PasswordHasher):
    rounds = 4


class BCrypt(dj.BCryptPasswordHasher):
    rounds = 4


def django_hash(hasher, password, *args):
    encoded = hasher.encode(password, hasher.salt(), *args)
    assert dj.check_password(password, encoded), "Django does not verify its own hash"
    return encoded


def django_scrypt(password, salt, n, r, p):
    # Django >= 4.0 ScryptPasswordHasher.encode (django/contrib/auth/hashers.py); 3.2 has none.
    h = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=0, dklen=64)
    return "scrypt$%d$%s$%d$%d$%s" % (n, salt, r, p, base64.b64encode(h).decode("ascii").strip())


def werkzeug_scrypt(password, n, r, p):
    # Werkzeug >= 2.3 _hash_internal + generate_password_hash (src/werkzeug/security.py); 2.2 has none.
    salt = secrets.token_urlsafe(16)
    h = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p)
    return f"scrypt:{n}:{r}:{p}${salt}${h.hex()}"


def argon2(kind, password):
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=kind).hash(password)


def digests(password):
    """Hand-rolled salted digests as an import record gives them (StructuredDigest)."""
    pw = password.encode()
    salt = "sël-" + secrets.token_hex(4)
    raw = secrets.token_bytes(12)
    return {
        "digest-sha256": {"algorithm": "sha256", "salt": salt,
                          "hash": hashlib.sha256(salt.encode() + pw).hexdigest()},
        "digest-sha512": {"algorithm": "sha512", "salt": raw.hex(), "salt_encoding": "hex",
                          "template": "{password}:{salt}", "encoding": "base64",
                          "hash": base64.b64encode(hashlib.sha512(pw + b":" + raw).digest()).decode()},
        "digest-sha1": {"algorithm": "sha1", "salt": salt,
                        "hash": hashlib.sha1(salt.encode() + pw).hexdigest()},
        "digest-md5": {"algorithm": "md5", "salt": base64.b64encode(raw).decode(),
                       "salt_encoding": "base64", "hash": hashlib.md5(raw + pw).hexdigest()},
        "digest-sha256-unsalted": {"algorithm": "sha256", "hash": hashlib.sha256(pw).hexdigest()},
        "digest-pbkdf2-sha256": {"algorithm": "pbkdf2-sha256", "salt": salt, "iterations": 1000,
                                 "encoding": "base64", "hash": base64.b64encode(
                                     hashlib.pbkdf2_hmac("sha256", pw, salt.encode(), 1000)).decode()},
        "digest-pbkdf2-sha512-dklen20": {"algorithm": "pbkdf2-sha512", "salt": raw.hex(),
                                         "salt_encoding": "hex", "iterations": 1200,
                                         "hash": hashlib.pbkdf2_hmac("sha512", pw, raw, 1200, 20).hex()},
    }


def hashes(password):
    pw = password.encode()
    return {
        "argon2i": argon2(Type.I, password),
        "argon2d": argon2(Type.D, password),
        "argon2id-python": argon2(Type.ID, password),
        "bcrypt-2b": bcrypt.hashpw(pw, bcrypt.gensalt(4, prefix=b"2b")).decode(),
        "bcrypt-2a": bcrypt.hashpw(pw, bcrypt.gensalt(4, prefix=b"2a")).decode(),
        "bcrypt-2y": passlib_bcrypt.using(rounds=4, ident="2y").hash(password),
        "passlib-pbkdf2-sha256": pbkdf2_sha256.using(rounds=1000).hash(password),
        "passlib-pbkdf2-sha512": pbkdf2_sha512.using(rounds=1000).hash(password),
        "passlib-pbkdf2-sha1": pbkdf2_sha1.using(rounds=1000).hash(password),
        "passlib-scrypt": passlib_scrypt.using(rounds=8, block_size=4, parallelism=2).hash(password),
        "werkzeug-pbkdf2-sha256": generate_password_hash(password, "pbkdf2:sha256:1000"),
        "werkzeug-pbkdf2-sha512": generate_password_hash(password, "pbkdf2:sha512:1000"),
        "werkzeug-pbkdf2-sha1": generate_password_hash(password, "pbkdf2:sha1:1000"),
        "werkzeug-scrypt": werkzeug_scrypt(password, 1024, 8, 1),
        "django-pbkdf2-sha256": django_hash(dj.PBKDF2PasswordHasher(), password, 1000),
        "django-pbkdf2-sha1": django_hash(dj.PBKDF2SHA1PasswordHasher(), password, 1000),
        "django-argon2id": django_hash(Argon2(), password),
        "django-argon2i": "argon2" + argon2(Type.I, password),  # Django < 3.2 wrote argon2i so
        "django-bcrypt-sha256": django_hash(BCryptSHA256(), password),
        "django-bcrypt": django_hash(BCrypt(), password),
        "django-scrypt": django_scrypt(password, secrets.token_hex(8), 1024, 8, 1),
        "django-sha1": django_hash(dj.SHA1PasswordHasher(), password),
        "django-md5": django_hash(dj.MD5PasswordHasher(), password),
        "django-unsalted-sha1": django_hash(dj.UnsaltedSHA1PasswordHasher(), password),
        "django-unsalted-md5": django_hash(dj.UnsaltedMD5PasswordHasher(), password),
        **digests(password),
    }


emit({
    "byPassword": {password: hashes(password) for password in data["passwords"]},
    # bcrypt reads 72 bytes; Django's bcrypt_sha256 pre-hashes so the whole password counts.
    "long": {
        "django-bcrypt": django_hash(BCrypt(), data["long"]),
        "django-bcrypt-sha256": django_hash(BCryptSHA256(), data["long"]),
    },
    # Django's own test vector (tests/auth_tests/test_hashers.py, test_scrypt), for our builder.
    "djangoScryptVector": django_scrypt("lètmein", "seasalt", 16384, 8, 1),
    # For the event-loop test: a pbkdf2 that takes a hash thread a noticeable while.
    "slowPbkdf2": {"algorithm": "pbkdf2-sha256", "salt": "slow", "iterations": 2_000_000,
                   "hash": hashlib.pbkdf2_hmac("sha256", b"slow", b"slow", 2_000_000).hex()},
})

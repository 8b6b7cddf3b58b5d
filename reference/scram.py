"""SASL/SCRAM: how a client proves it knows a password without sending it, and how a broker
checks the proof without storing the password (RFC 5802 and RFC 7677, as Kafka 3.9's
``ScramSaslServer``, ``ScramFormatter`` and ``ScramMessages`` implement them).

The broker stores, per user and mechanism (SCRAM-SHA-256 or SCRAM-SHA-512), a *credential*:
a random salt, an iteration count (at least 4096), and two keys derived from the password,
never the password itself:

    SaltedPassword = PBKDF2-HMAC(password, salt, iterations)
    ClientKey      = HMAC(SaltedPassword, "Client Key")
    StoredKey      = H(ClientKey)
    ServerKey      = HMAC(SaltedPassword, "Server Key")

The exchange is four messages:

    client-first   n,,n=alice,r=<client nonce>
    server-first   r=<client nonce><server nonce>,s=<salt>,i=<iterations>
    client-final   c=biws,r=<both nonces>,p=<proof>
    server-final   v=<server signature>

The proof is ``ClientKey XOR HMAC(StoredKey, AuthMessage)``, where the AuthMessage joins the
three messages before it (the proof left out). The broker recovers ``ClientKey`` from the
proof, hashes it, and compares with its ``StoredKey`` in constant time; its own signature,
``HMAC(ServerKey, AuthMessage)``, proves to the client that the broker knew the credential.

Kafka applies no SASLprep to passwords (UTF-8 bytes as they are), escapes ``=`` and ``,`` in
user names, accepts only the GS2 header ``n,,`` (no channel binding), and answers every
failure with SASL_AUTHENTICATION_FAILED and the same words, whether the user is unknown or
the password wrong.

The rules here (``scram_credential``, ``client_proof``, ``verify_client_proof``) are
exercises.
"""

import base64
import hashlib
import hmac
from typing import NamedTuple

from . import errors

MECHANISMS = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
MIN_ITERATIONS = 4096           # ScramMechanism.minIterations
MAX_ITERATIONS = 16384          # ScramMechanism.maxIterations (for new credentials)
GS2_HEADER = "n,,"              # no channel binding, no authorization id
FAILED = "Authentication failed during authentication due to invalid credentials with SASL " \
         "mechanism {mechanism}"     # what the client reports for any failure


class ScramCredential(NamedTuple):
    """What the broker keeps for one user and one mechanism (Kafka's ScramCredential)."""
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int


def _hash_name(mechanism):
    name = MECHANISMS.get(mechanism)
    if name is None:
        raise errors.UnsupportedSaslMechanismError(
            f"{mechanism!r}: the mechanisms are {sorted(MECHANISMS)}")
    return name


def scram_credential(password, salt, iterations, mechanism="SCRAM-SHA-256"):
    """The credential a broker stores for ``password`` (``ScramFormatter.generateCredential``):
    ``SaltedPassword = PBKDF2(UTF-8 password, salt, iterations)`` with the mechanism's hash,
    ``StoredKey = H(HMAC(SaltedPassword, "Client Key"))`` and
    ``ServerKey = HMAC(SaltedPassword, "Server Key")``. No SASLprep: the password's UTF-8
    bytes as they are. Returns ``ScramCredential(salt, stored_key, server_key, iterations)``.
    ``MECHANISMS[mechanism]`` names the hash for hashlib."""
    hash_name = MECHANISMS[mechanism]
    salted = hashlib.pbkdf2_hmac(hash_name, password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hash_name).digest()
    stored_key = hashlib.new(hash_name, client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hash_name).digest()
    return ScramCredential(salt, stored_key, server_key, iterations)


def client_proof(password, salt, iterations, auth_message, mechanism="SCRAM-SHA-256"):
    """The proof a client sends in its final message: ``ClientKey XOR
    HMAC(StoredKey, AuthMessage)``, with ``ClientKey = HMAC(SaltedPassword, "Client Key")``
    and ``StoredKey = H(ClientKey)``. ``auth_message`` is bytes."""
    hash_name = _hash_name(mechanism)
    salted = hashlib.pbkdf2_hmac(hash_name, password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hash_name).digest()
    stored_key = hashlib.new(hash_name, client_key).digest()
    signature = hmac.new(stored_key, auth_message, hash_name).digest()
    return bytes(a ^ b for a, b in zip(client_key, signature))


def verify_client_proof(stored_key, auth_message, proof, mechanism="SCRAM-SHA-256"):
    """The broker's check of a client's proof (``ScramSaslServer.verifyClientProof``): the
    client signature is ``HMAC(StoredKey, AuthMessage)``; XORed with the proof it gives back
    the client key, whose hash must be ``StoredKey``. A proof of the wrong length is wrong.
    The comparison takes the same time however early the bytes differ (Kafka's
    ``MessageDigest.isEqual``, CVE-2021-38153): timing must not tell an attacker how close a
    guess came."""
    hash_name = MECHANISMS[mechanism]
    signature = hmac.new(stored_key, auth_message, hash_name).digest()
    if len(proof) != len(signature):
        return False
    client_key = bytes(a ^ b for a, b in zip(signature, proof))
    return hmac.compare_digest(hashlib.new(hash_name, client_key).digest(), stored_key)


def server_signature(server_key, auth_message, mechanism="SCRAM-SHA-256"):
    """``HMAC(ServerKey, AuthMessage)``: the server-final message's proof that the broker
    knew the credential."""
    return hmac.new(server_key, auth_message, _hash_name(mechanism)).digest()


# -- messages (ScramMessages) -----------------------------------------------------------------
def escape_username(name):
    """RFC 5802's saslname: ``=`` as ``=3D`` and ``,`` as ``=2C``."""
    return name.replace("=", "=3D").replace(",", "=2C")


def unescape_username(saslname):
    if any(part[:2] not in ("3D", "2C") for part in saslname.split("=")[1:]):
        raise ValueError("a user name with an invalid escape")
    return saslname.replace("=2C", ",").replace("=3D", "=")


def b64(data):
    return base64.b64encode(data).decode("ascii")


def _attributes(message, names):
    """``{name: value}`` of a SCRAM message whose attributes are exactly ``names``, in order."""
    parts = message.split(",")
    if len(parts) != len(names) or any(p[:2] != f"{n}=" for p, n in zip(parts, names)):
        raise ValueError(f"not a SCRAM message with attributes {', '.join(names)}")
    return {n: p[2:] for p, n in zip(parts, names)}


def parse_client_first(message):
    """``(username, client nonce, client-first-bare)``; ValueError for anything else than
    Kafka accepts (GS2 header ``n,,`` or ``n,a=<same user>,``; no extensions but tokenauth)."""
    if not message.startswith("n,"):
        raise ValueError("only the GS2 header 'n' is supported (no channel binding)")
    _, authzid, bare = message.split(",", 2)
    parts = bare.split(",")
    if len(parts) < 2 or not parts[0].startswith("n=") or not parts[1].startswith("r="):
        raise ValueError("a client-first message is n=<user>,r=<nonce>")
    username = unescape_username(parts[0][2:])
    nonce = parts[1][2:]
    if not username or not nonce or "," in nonce:
        raise ValueError("an empty user name or nonce")
    if authzid and authzid != f"a={escape_username(username)}":
        raise ValueError("Authentication failed: Client requested an authorization id that "
                         "is different from username")
    return username, nonce, bare


def parse_client_final(message):
    """``(channel binding, nonce, proof bytes, client-final-without-proof)``."""
    attributes = _attributes(message, ("c", "r", "p"))
    without_proof = message[:message.rindex(",p=")]
    try:
        proof = base64.b64decode(attributes["p"], validate=True)
        binding = base64.b64decode(attributes["c"], validate=True)
    except ValueError:
        raise ValueError("a client-final message with invalid base64") from None
    return binding, attributes["r"], proof, without_proof


class ScramServer:
    """The broker's side of one SCRAM exchange (``ScramSaslServer``): two messages in, two
    out. ``credentials(username)`` gives the stored ScramCredential or None; ``nonce()``
    gives a fresh server nonce (the engine's seeded random). Any failure raises
    SaslAuthenticationFailedError with one message, whatever went wrong."""

    def __init__(self, mechanism, credentials, nonce, verify=None):
        _hash_name(mechanism)
        self.mechanism = mechanism
        self.credentials = credentials
        self.new_nonce = nonce
        self.verify = verify or verify_client_proof     # the rule (a seam in a broker)
        self.state = "client-first"
        self.username = None
        self.reason = None              # why it failed, for the broker's own log only

    def fail(self, reason):
        self.state = "failed"
        self.reason = reason
        raise errors.SaslAuthenticationFailedError(FAILED.format(mechanism=self.mechanism))

    def respond(self, message):
        """The answer to the client's next message."""
        if self.state == "client-first":
            return self._server_first(message)
        if self.state == "client-final":
            return self._server_final(message)
        self.fail(f"a message in state {self.state}")

    def _server_first(self, message):
        try:
            username, client_nonce, bare = parse_client_first(message)
        except ValueError as error:
            self.fail(str(error))
        credential = self.credentials(username)
        if credential is None:
            self.fail("Authentication failed: Invalid user credentials")
        if credential.iterations < MIN_ITERATIONS:
            self.fail(f"Iterations {credential.iterations} is less than the minimum "
                      f"{MIN_ITERATIONS} for {self.mechanism}")
        self.username, self.credential = username, credential
        self.nonce = client_nonce + self.new_nonce()
        self.server_first = f"r={self.nonce},s={b64(credential.salt)},i={credential.iterations}"
        self.client_first_bare = bare
        self.state = "client-final"
        return self.server_first

    def _server_final(self, message):
        try:
            binding, nonce, proof, without_proof = parse_client_final(message)
        except ValueError as error:
            self.fail(str(error))
        if not hmac.compare_digest(nonce.encode(), self.nonce.encode()):
            self.fail("Invalid client nonce in the final client message.")
        if binding != GS2_HEADER.encode():
            self.fail("Invalid channel binding in the final client message.")
        auth_message = ",".join((self.client_first_bare, self.server_first,
                                 without_proof)).encode()
        if self.verify(self.credential.stored_key, auth_message, proof,
                       self.mechanism) is not True:
            self.fail("Invalid client final message: Invalid client credentials")
        self.state = "complete"
        return "v=" + b64(server_signature(self.credential.server_key, auth_message,
                                           self.mechanism))


class ScramClient:
    """The client's side (``ScramSaslClient``): ``first()``, then ``final(server_first)``,
    then ``verify(server_final)``, which checks the broker's signature."""

    def __init__(self, mechanism, username, password, nonce):
        _hash_name(mechanism)
        self.mechanism, self.username, self.password = mechanism, username, password
        self.client_nonce = nonce

    def first(self):
        self.client_first_bare = f"n={escape_username(self.username)},r={self.client_nonce}"
        return GS2_HEADER + self.client_first_bare

    def final(self, server_first):
        try:
            attributes = _attributes(server_first, ("r", "s", "i"))
            salt = base64.b64decode(attributes["s"], validate=True)
            iterations = int(attributes["i"])
        except ValueError:
            raise errors.SaslAuthenticationFailedError(
                "Invalid server first message") from None
        if not attributes["r"].startswith(self.client_nonce) or \
                len(attributes["r"]) == len(self.client_nonce):
            raise errors.SaslAuthenticationFailedError(
                "Invalid server nonce: does not start with client nonce")
        if iterations < MIN_ITERATIONS:
            raise errors.SaslAuthenticationFailedError(
                f"Requested iterations {iterations} is less than the minimum "
                f"{MIN_ITERATIONS} for {self.mechanism}")
        without_proof = f"c={b64(GS2_HEADER.encode())},r={attributes['r']}"
        self.auth_message = ",".join((self.client_first_bare, server_first,
                                      without_proof)).encode()
        credential = scram_credential(self.password, salt, iterations, self.mechanism)
        self.server_key = credential.server_key
        proof = client_proof(self.password, salt, iterations, self.auth_message,
                             self.mechanism)
        return f"{without_proof},p={b64(proof)}"

    def verify(self, server_final):
        expected = "v=" + b64(server_signature(self.server_key, self.auth_message,
                                               self.mechanism))
        if not hmac.compare_digest(server_final.encode(), expected.encode()):
            raise errors.SaslAuthenticationFailedError(
                "Invalid server signature in server final message")
        return True

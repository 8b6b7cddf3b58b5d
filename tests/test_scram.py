"""SASL/SCRAM: RFC 7677's test vector, the scramp package as an independent oracle (both
directions), and every way an exchange fails: one answer, nothing leaked."""

import base64
import hashlib
import hmac

import pytest
import scramp

from kafkadojo.reference import errors
from kafkadojo.reference.scram import (FAILED, MIN_ITERATIONS, ScramClient, ScramServer,
                                       client_proof, escape_username, scram_credential,
                                       unescape_username, verify_client_proof)

# RFC 7677, section 3: user "user", password "pencil"
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
RFC_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def server_for(users, mechanism="SCRAM-SHA-256", nonce=RFC_SERVER_NONCE):
    return ScramServer(mechanism, users.get, lambda: nonce)


def test_rfc_7677s_exchange_reproduces():
    credential = scram_credential("pencil", RFC_SALT, 4096)
    server = server_for({"user": credential})
    client = ScramClient("SCRAM-SHA-256", "user", "pencil", RFC_CLIENT_NONCE)
    first = client.first()
    assert first == f"n,,n=user,r={RFC_CLIENT_NONCE}"
    server_first = server.respond(first)
    assert server_first == (f"r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},"
                            f"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    final = client.final(server_first)
    assert final.endswith(f",p={RFC_PROOF}")
    server_final = server.respond(final)
    assert server_final == f"v={RFC_SIGNATURE}"
    assert client.verify(server_final) and server.username == "user"


def test_the_keys_are_pbkdf2_and_hmac_as_the_rfc_defines_them():
    for mechanism, name in (("SCRAM-SHA-256", "sha256"), ("SCRAM-SHA-512", "sha512")):
        salted = hashlib.pbkdf2_hmac(name, b"pencil", RFC_SALT, 4096)
        client_key = hmac.new(salted, b"Client Key", name).digest()
        credential = scram_credential("pencil", RFC_SALT, 4096, mechanism)
        assert credential.stored_key == hashlib.new(name, client_key).digest()
        assert credential.server_key == hmac.new(salted, b"Server Key", name).digest()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scramp_as_the_client_and_as_the_server(mechanism):
    """scramp applies SASLprep; on ASCII passwords it must agree with Kafka's (none)."""
    stored = scram_credential("s3cret-Pa55", b"0123456789abcdef", 4096, mechanism)
    # scramp's client against our server
    client = scramp.ScramClient([mechanism], "alice", "s3cret-Pa55")
    server = server_for({"alice": stored}, mechanism, nonce="servernonce")
    server_first = server.respond(client.get_client_first())
    client.set_server_first(server_first)
    server_final = server.respond(client.get_client_final())
    client.set_server_final(server_final)                  # raises if the signature is wrong
    # our client against scramp's server, with our stored keys
    auth_info = (stored.salt, stored.stored_key, stored.server_key, stored.iterations)
    scramp_server = scramp.ScramMechanism(mechanism).make_server(lambda username: auth_info)
    ours = ScramClient(mechanism, "alice", "s3cret-Pa55", "clientnonce")
    scramp_server.set_client_first(ours.first())
    final = ours.final(scramp_server.get_server_first())
    scramp_server.set_client_final(final)
    assert ours.verify(scramp_server.get_server_final())


def exchange(server, client_first, final=None, password="pencil"):
    server_first = server.respond(client_first)
    client = ScramClient("SCRAM-SHA-256", "user", password, RFC_CLIENT_NONCE)
    client.first()
    return server.respond(final(client, server_first) if final else client.final(server_first))


FAILURES = {
    "unknown user": lambda s: exchange(s, f"n,,n=nobody,r={RFC_CLIENT_NONCE}"),
    "wrong password": lambda s: exchange(s, f"n,,n=user,r={RFC_CLIENT_NONCE}",
                                         password="pencil2"),
    "channel binding asked": lambda s: s.respond(f"p=tls-unique,,n=user,r={RFC_CLIENT_NONCE}"),
    "another authorization id": lambda s: s.respond(f"n,a=admin,n=user,r={RFC_CLIENT_NONCE}"),
    "no nonce": lambda s: s.respond("n,,n=user"),
    "a wrong nonce": lambda s: exchange(s, f"n,,n=user,r={RFC_CLIENT_NONCE}",
                                        lambda c, sf: c.final(sf).replace("r=", "r=x")),
    "a proof cut short": lambda s: exchange(s, f"n,,n=user,r={RFC_CLIENT_NONCE}",
                                            lambda c, sf: c.final(sf)[:-8] + "AAAA"),
    "not base64": lambda s: exchange(s, f"n,,n=user,r={RFC_CLIENT_NONCE}",
                                     lambda c, sf: c.final(sf)[:-4] + "!!!!"),
    "attributes out of order": lambda s: exchange(
        s, f"n,,n=user,r={RFC_CLIENT_NONCE}",
        lambda c, sf: ",".join(reversed(c.final(sf).split(",")))),
}


@pytest.mark.parametrize("how", sorted(FAILURES))
def test_every_failure_is_one_answer_that_says_nothing_of_the_user(how):
    server = server_for({"user": scram_credential("pencil", RFC_SALT, 4096)})
    with pytest.raises(errors.SaslAuthenticationFailedError) as failure:
        FAILURES[how](server)
    assert str(failure.value) == "SASL_AUTHENTICATION_FAILED: " + FAILED.format(
        mechanism="SCRAM-SHA-256")
    assert server.state == "failed" and server.reason      # the broker's log knows why
    with pytest.raises(errors.SaslAuthenticationFailedError):
        server.respond("n,,n=user,r=again")                 # and nothing goes on after it


def test_a_replayed_final_message_fails():
    credential = scram_credential("pencil", RFC_SALT, 4096)
    first_server = server_for({"user": credential})
    client = ScramClient("SCRAM-SHA-256", "user", "pencil", RFC_CLIENT_NONCE)
    final = client.final(first_server.respond(client.first()))
    first_server.respond(final)
    # an eavesdropper replays the same messages on a new connection: a new server nonce
    replay = server_for({"user": credential}, nonce="a-fresh-server-nonce")
    replay.respond(client.first())
    with pytest.raises(errors.SaslAuthenticationFailedError):
        replay.respond(final)
    assert "nonce" in replay.reason


def test_too_few_iterations_are_refused_on_both_sides():
    weak = scram_credential("pencil", RFC_SALT, MIN_ITERATIONS - 1)
    server = server_for({"user": weak})
    with pytest.raises(errors.SaslAuthenticationFailedError):
        server.respond(f"n,,n=user,r={RFC_CLIENT_NONCE}")
    assert server.reason == "Iterations 4095 is less than the minimum 4096 for SCRAM-SHA-256"
    client = ScramClient("SCRAM-SHA-256", "user", "pencil", "c")
    client.first()
    with pytest.raises(errors.SaslAuthenticationFailedError, match="less than the minimum"):
        client.final("r=cs,s=AAAA,i=1")


def test_the_client_checks_the_servers_signature():
    """A broker that does not hold the credential cannot sign: the client notices."""
    credential = scram_credential("pencil", RFC_SALT, 4096)
    server = server_for({"user": credential})
    client = ScramClient("SCRAM-SHA-256", "user", "pencil", RFC_CLIENT_NONCE)
    final = client.final(server.respond(client.first()))
    assert final.endswith(RFC_PROOF)
    with pytest.raises(errors.SaslAuthenticationFailedError, match="server signature"):
        client.verify("v=" + base64.b64encode(b"\0" * 32).decode())
    with pytest.raises(errors.SaslAuthenticationFailedError, match="nonce"):
        ScramClient("SCRAM-SHA-256", "user", "pencil", "mine").final("r=notmine,s=AAAA,i=4096")


def test_user_names_are_escaped():
    assert escape_username("a=b,c") == "a=3Db=2Cc"
    assert unescape_username("a=3Db=2Cc") == "a=b,c"
    with pytest.raises(ValueError):
        unescape_username("a=41")
    server = server_for({"a=b,c": scram_credential("pw", b"salt", 4096)})
    client = ScramClient("SCRAM-SHA-256", "a=b,c", "pw", "n1")
    client.verify(server.respond(client.final(server.respond(client.first()))))


def test_the_proof_check_is_the_stored_key_and_nothing_else():
    credential = scram_credential("pencil", RFC_SALT, 4096)
    message = b"any auth message"
    proof = client_proof("pencil", RFC_SALT, 4096, message)
    assert verify_client_proof(credential.stored_key, message, proof)
    assert not verify_client_proof(credential.stored_key, message + b"!", proof)
    assert not verify_client_proof(credential.stored_key, message, proof[:-1])
    assert not verify_client_proof(credential.stored_key, message, bytes(len(proof)))


def test_an_unknown_mechanism_is_refused():
    with pytest.raises(errors.UnsupportedSaslMechanismError):
        ScramServer("SCRAM-SHA-1", {}.get, lambda: "n")
    with pytest.raises(errors.UnsupportedSaslMechanismError):
        ScramClient("SCRAM-SHA-1", "user", "pw", "n")

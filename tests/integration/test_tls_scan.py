"""The lb's TLS handshake seen from outside, with `openssl s_client` and
`sslscan`: which certificate each SNI name gets, which protocol versions and
ciphers are accepted, ALPN, and session resumption.

The defaults under test (shared/tls.c): Mozilla's "intermediate" profile,
TLS 1.2 and 1.3 only, AEAD ciphers with forward secrecy, server preference
(with PRIORITIZE_CHACHA), a session cache and rotating session tickets, ALPN
http/1.1. Every lb here fronts one echo backend, so a handshake that
succeeds could also carry a request.
"""
import re
import shutil
import subprocess

import pytest

from procs import free_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

LB_CFG = """
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 5s
frontend fe
    bind 127.0.0.1:{{port}} ssl {bind}
    default_backend be
backend be
    server s1 127.0.0.1:{{p1}}
"""


def tls_lb(lbs, echo, bind, glob="", extra_binds=""):
    """An lb with one TLS bind ("ssl " + bind), fronting the echo backend.
    `glob` is put in a global section; `extra_binds` are more bind lines."""
    text = LB_CFG.format(bind=bind)
    if glob:
        text = "global\n" + glob + "\n" + text
    if extra_binds:
        text = text.replace("    default_backend be", extra_binds + "\n    default_backend be")
    return lbs(text, p1=echo.port)


def s_client(port, *args, cafile=None, stdin=b"", timeout=10):
    """Runs openssl s_client; returns (return code, stdout + stderr)."""
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args]
    if cafile:
        argv += ["-CAfile", str(cafile)]
    r = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")


def handshake(out):
    """("New"|"Reused", protocol, cipher) from s_client's summary line, or
    None when no session was established ("Cipher is (NONE)")."""
    m = re.search(r"^(New|Reused), (\S+), Cipher is (\S+)", out, re.M)
    assert m, f"no handshake summary in s_client output:\n{out}"
    if m.group(3) == "(NONE)":
        return None
    return m.group(1), m.group(2), m.group(3)


def peer_cn(out):
    m = re.search(r"^subject=.*?CN\s*=\s*([^,\n]+)", out, re.M)
    assert m, f"no server certificate in s_client output:\n{out}"
    return m.group(1).strip()


def verify_code(out):
    m = re.search(r"Verify return code: (\d+)", out)
    assert m, out
    return int(m.group(1))


def alpn(out):
    m = re.search(r"^ALPN protocol: (\S+)", out, re.M)
    if m:
        return m.group(1)
    assert "No ALPN negotiated" in out, out
    return None


def three_crts(certs):
    return f"crt {certs}/server.pem crt {certs}/other.pem crt {certs}/wild.pem"


# --- SNI ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, cn", [
    ("other.test", "other.test"),
    ("a.wild.test", "*.wild.test"),
    ("chat.test", "chat.test"),
    ("localhost", "chat.test"),
])
def test_sni_name_selects_the_certificate_that_covers_it_and_it_verifies(lbs, echo, certs, name, cn):
    lb = tls_lb(lbs, echo, three_crts(certs))
    rc, out = s_client(lb.port, "-servername", name, cafile=certs / "ca.pem")
    assert peer_cn(out) == cn
    assert verify_code(out) == 0, out
    assert rc == 0, out


@pytest.mark.parametrize("sni", [["-servername", "unknown.example"], ["-noservername"],
                                 ["-servername", "wild.test"],          # not under *.wild.test
                                 ["-servername", "b.a.wild.test"]],     # * is one label only
                         ids=["unknown-name", "no-sni", "parent-of-wildcard", "two-labels-under-wildcard"])
def test_unknown_or_absent_sni_gets_the_first_crt(lbs, echo, certs, sni):
    lb = tls_lb(lbs, echo, three_crts(certs))
    _, out = s_client(lb.port, *sni, cafile=certs / "ca.pem")
    assert handshake(out) is not None, out
    assert peer_cn(out) == "chat.test"


def test_first_crt_on_the_line_is_the_default_whatever_its_name(lbs, echo, certs):
    lb = tls_lb(lbs, echo, f"crt {certs}/wild.pem crt {certs}/server.pem")
    _, out = s_client(lb.port, "-noservername", cafile=certs / "ca.pem")
    assert peer_cn(out) == "*.wild.test"
    _, out = s_client(lb.port, "-servername", "chat.test", cafile=certs / "ca.pem")
    assert peer_cn(out) == "chat.test"


@pytest.mark.parametrize("name, cn", [
    ("other.test", "other.test"),
    ("x.wild.test", "*.wild.test"),
    ("chat.test", "chat.test"),
    ("unknown.example", "other.test"),  # default: the first file by name
    (None, "other.test"),
])
def test_crt_directory_loads_every_pem_and_the_first_by_name_is_the_default(lbs, echo, certs, name, cn):
    lb = tls_lb(lbs, echo, f"crt {certs}/certs")
    sni = ["-servername", name] if name else ["-noservername"]
    rc, out = s_client(lb.port, *sni, cafile=certs / "ca.pem")
    assert peer_cn(out) == cn
    if name and name != "unknown.example":
        assert verify_code(out) == 0, out


# --- protocol versions and ciphers ---------------------------------------------------------

@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_tls_1_0_and_1_1_are_refused_with_a_protocol_version_alert(lbs, echo, certs, version):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    # SECLEVEL=0 lets this client offer the old versions at all.
    rc, out = s_client(lb.port, version, "-cipher", "DEFAULT@SECLEVEL=0", cafile=certs / "ca.pem")
    assert rc != 0
    assert handshake(out) is None, out
    # The refusal is the server's (RFC 8446 6.2: protocol_version, 70), not
    # the client's own inability to offer the version.
    assert "alert protocol version" in out, out


@pytest.mark.parametrize("version, name", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_tls_1_2_and_1_3_are_accepted(lbs, echo, certs, version, name):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    rc, out = s_client(lb.port, version, cafile=certs / "ca.pem")
    assert rc == 0, out
    assert handshake(out)[1] == name
    assert verify_code(out) == 0


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA256",
                                    "ECDHE-ECDSA-AES256-SHA384"])
def test_tls_1_2_cipher_outside_the_intermediate_profile_is_refused(lbs, echo, certs, cipher):
    # CBC with an HMAC (SHA-1, SHA-256, SHA-384) and a key exchange the
    # ECDSA certificate allows: only the missing AEAD makes them wrong, and
    # none is in Mozilla's intermediate list.
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    rc, out = s_client(lb.port, "-tls1_2", "-cipher", cipher + "@SECLEVEL=0", cafile=certs / "ca.pem")
    assert rc != 0
    assert handshake(out) is None, out
    assert "alert handshake failure" in out, out


def test_ssl_min_ver_tls1_3_refuses_tls_1_2(lbs, echo, certs):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem ssl-min-ver TLSv1.3")
    rc, out = s_client(lb.port, "-tls1_2", cafile=certs / "ca.pem")
    assert rc != 0 and handshake(out) is None, out
    assert "alert protocol version" in out, out
    rc, out = s_client(lb.port, "-tls1_3", cafile=certs / "ca.pem")
    assert rc == 0 and handshake(out)[1] == "TLSv1.3", out


def test_ssl_max_ver_tls1_2_refuses_tls_1_3(lbs, echo, certs):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem ssl-max-ver TLSv1.2")
    rc, out = s_client(lb.port, "-tls1_3", cafile=certs / "ca.pem")
    assert rc != 0 and handshake(out) is None, out
    assert "alert protocol version" in out, out
    rc, out = s_client(lb.port, "-tls1_2", cafile=certs / "ca.pem")
    assert rc == 0 and handshake(out)[1] == "TLSv1.2", out
    # A client offering both gets the highest the bind allows.
    rc, out = s_client(lb.port, cafile=certs / "ca.pem")
    assert rc == 0 and handshake(out)[1] == "TLSv1.2", out


def test_bind_ciphersuites_is_what_a_tls_1_3_client_gets(lbs, echo, certs):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem ciphersuites TLS_CHACHA20_POLY1305_SHA256")
    rc, out = s_client(lb.port, "-tls1_3", cafile=certs / "ca.pem")
    assert rc == 0, out
    assert handshake(out)[2] == "TLS_CHACHA20_POLY1305_SHA256"
    # A client that does not offer it gets no handshake.
    rc, out = s_client(lb.port, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256",
                       cafile=certs / "ca.pem")
    assert rc != 0 and handshake(out) is None, out


def test_global_default_bind_ciphersuites_apply_to_binds_without_their_own(lbs, echo, certs):
    other = free_port()
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem",
                glob="    ssl-default-bind-ciphersuites TLS_AES_256_GCM_SHA384",
                extra_binds=f"    bind 127.0.0.1:{other} ssl crt {certs}/server.pem "
                            "ciphersuites TLS_CHACHA20_POLY1305_SHA256")
    _, out = s_client(lb.port, "-tls1_3", cafile=certs / "ca.pem")
    assert handshake(out)[2] == "TLS_AES_256_GCM_SHA384", out
    _, out = s_client(other, "-tls1_3", cafile=certs / "ca.pem")
    assert handshake(out)[2] == "TLS_CHACHA20_POLY1305_SHA256", out


def test_global_default_bind_ciphers_apply_to_tls_1_2(lbs, echo, certs):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem",
                glob="    ssl-default-bind-ciphers ECDHE-ECDSA-AES256-GCM-SHA384")
    _, out = s_client(lb.port, "-tls1_2", cafile=certs / "ca.pem")
    assert handshake(out)[2] == "ECDHE-ECDSA-AES256-GCM-SHA384", out


def test_server_cipher_preference_wins_by_default(lbs, echo, certs):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    # The client prefers AES-256; the intermediate list puts AES-128 first.
    _, out = s_client(lb.port, "-tls1_2", "-cipher",
                      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256",
                      cafile=certs / "ca.pem")
    assert handshake(out)[2] == "ECDHE-ECDSA-AES128-GCM-SHA256", out


def test_client_that_prefers_chacha20_gets_it(lbs, echo, certs):
    # SSL_OP_PRIORITIZE_CHACHA: a client listing ChaCha20 first (one without
    # AES hardware) gets it, although the server prefers AES-GCM otherwise.
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    _, out = s_client(lb.port, "-tls1_3", "-ciphersuites",
                      "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256", cafile=certs / "ca.pem")
    assert handshake(out)[2] == "TLS_CHACHA20_POLY1305_SHA256", out
    _, out = s_client(lb.port, "-tls1_2", "-cipher",
                      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
                      cafile=certs / "ca.pem")
    assert handshake(out)[2] == "ECDHE-ECDSA-CHACHA20-POLY1305", out


def test_prefer_client_ciphers_follows_the_client_order(lbs, echo, certs):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem prefer-client-ciphers")
    _, out = s_client(lb.port, "-tls1_2", "-cipher",
                      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256",
                      cafile=certs / "ca.pem")
    assert handshake(out)[2] == "ECDHE-ECDSA-AES256-GCM-SHA384", out


def test_curves_option_limits_the_key_exchange_groups(lbs, echo, certs):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem curves P-384")
    _, out = s_client(lb.port, "-tls1_3", cafile=certs / "ca.pem")
    assert handshake(out) is not None, out
    assert re.search(r"Server Temp Key: ECDH, (P-384|secp384r1)", out), out
    rc, out = s_client(lb.port, "-tls1_3", "-groups", "X25519", cafile=certs / "ca.pem")
    assert rc != 0 and handshake(out) is None, out


# --- ALPN --------------------------------------------------------------------------------

def test_alpn_http11_is_selected(lbs, echo, certs):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    rc, out = s_client(lb.port, "-alpn", "http/1.1", cafile=certs / "ca.pem")
    assert rc == 0, out
    assert alpn(out) == "http/1.1"
    _, out = s_client(lb.port, "-alpn", "h2,http/1.1", cafile=certs / "ca.pem")
    assert alpn(out) == "http/1.1"


def test_alpn_h2_alone_selects_nothing_but_the_handshake_succeeds(lbs, echo, certs):
    # RFC 7301 3.2 allows a server to proceed without ALPN; it must not pick
    # h2, which it does not speak.
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    rc, out = s_client(lb.port, "-alpn", "h2", cafile=certs / "ca.pem")
    assert rc == 0, out
    assert handshake(out) is not None
    assert alpn(out) is None


# --- session resumption ---------------------------------------------------------------------

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def first_and_resumed(port, version, cafile, sess):
    """A full handshake that saves its session, then a handshake offering
    it. With TLS 1.2 the first client closes at once (s_client </dev/null).
    A TLS 1.3 session arrives after the handshake (a NewSessionTicket), so
    that client sends a request and reads the answer before it ends."""
    if version == "-tls1_3":
        _, first = s_client(port, version, "-sess_out", str(sess), "-ign_eof", stdin=REQUEST,
                            cafile=cafile)
        assert "200 OK" in first, first
    else:
        _, first = s_client(port, version, "-sess_out", str(sess), cafile=cafile)
    assert handshake(first)[0] == "New", first
    assert sess.exists() and sess.stat().st_size > 0, first
    _, second = s_client(port, version, "-sess_in", str(sess), cafile=cafile)
    return first, second


@pytest.mark.parametrize("version, name", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_session_is_resumed(lbs, echo, certs, tmp_path, version, name):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    _, second = first_and_resumed(lb.port, version, certs / "ca.pem", tmp_path / "s.sess")
    assert handshake(second)[:2] == ("Reused", name), second


@pytest.mark.parametrize("version, name", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_with_no_tls_tickets_sessions_resume_through_the_session_cache(lbs, echo, certs, tmp_path,
                                                                       version, name):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem no-tls-tickets")
    first, second = first_and_resumed(lb.port, version, certs / "ca.pem", tmp_path / "s.sess")
    if name == "TLSv1.2":
        # No ticket at all: only the session id (RFC 5246 7.4.1.2) remains.
        assert "TLS session ticket:" not in first, first
        assert re.search(r"Session-ID: [0-9A-F]{2,}", first), first
    assert handshake(second)[:2] == ("Reused", name), second


def test_session_of_another_lb_is_not_resumed(lbs, echo, certs, tmp_path):
    """Negative control: "Reused" above is the server's decision."""
    one = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    two = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    sess = tmp_path / "s.sess"
    _, out = s_client(one.port, "-tls1_2", "-sess_out", str(sess), cafile=certs / "ca.pem")
    assert handshake(out)[0] == "New" and sess.exists(), out
    _, out = s_client(two.port, "-tls1_2", "-sess_in", str(sess), cafile=certs / "ca.pem")
    assert handshake(out)[0] == "New", out


# --- sslscan ---------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.skipif(shutil.which("sslscan") is None, reason="needs sslscan")
def test_sslscan_finds_only_modern_protocols_and_aead_ciphers(lbs, echo, certs):
    lb = tls_lb(lbs, echo, f"crt {certs}/server.pem")
    r = subprocess.run(["sslscan", "--no-colour", f"127.0.0.1:{lb.port}"], capture_output=True,
                       timeout=60)
    out = ANSI.sub("", r.stdout.decode("utf-8", "replace"))
    print(out)

    protocols = dict(re.findall(r"^(SSLv2|SSLv3|TLSv1\.[0-3])\s+(enabled|disabled)\s*$", out, re.M))
    assert protocols == {"SSLv2": "disabled", "SSLv3": "disabled", "TLSv1.0": "disabled",
                         "TLSv1.1": "disabled", "TLSv1.2": "enabled", "TLSv1.3": "enabled"}, out

    ciphers = re.findall(r"^(?:Preferred|Accepted)\s+(TLSv1\.[0-3]|SSLv[23])\s+\d+ bits\s+(\S+)",
                         out, re.M)
    assert ciphers, out
    assert {v for v, _ in ciphers} == {"TLSv1.2", "TLSv1.3"}
    weak = re.compile(r"RC4|DES|NULL|EXP|MD5|anon|PSK|SRP|CBC|CAMELLIA|ARIA|SEED|IDEA")
    for version, name in ciphers:
        assert not weak.search(name), f"weak cipher accepted: {version} {name}"
        if version == "TLSv1.2":
            # AEAD (GCM, ChaCha20-Poly1305) with an ephemeral key exchange;
            # a name ending in -SHA/-SHA256/-SHA384 alone is a CBC+HMAC suite.
            assert re.search(r"GCM|CHACHA20-POLY1305", name), f"non-AEAD cipher: {name}"
            assert name.startswith(("ECDHE-", "DHE-")), f"no forward secrecy: {name}"

    # Compression (CRIME): the lb sets SSL_OP_NO_COMPRESSION. An sslscan
    # built without zlib cannot probe it and says so; either is acceptable,
    # "enabled" is not.
    compression = out.split("TLS Compression:", 1)[1].split("\n\n", 1)[0]
    assert "Compression disabled" in compression or "does not support compression" in compression, out
    assert "Compression enabled" not in out
    assert "Insecure session renegotiation supported" not in out
    assert "Session renegotiation not supported" in out or \
           "Secure session renegotiation supported" in out, out
    assert re.search(r"vulnerable to heartbleed", out)
    assert not re.search(r"^\S+ vulnerable to heartbleed", out, re.M), out
    assert "Server supports TLS Fallback SCSV" in out, out

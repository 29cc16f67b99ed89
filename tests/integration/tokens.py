# SPDX-License-Identifier: AGPL-3.0-or-later
"""Tokens made by the tests themselves (PyJWT + cryptography), independent
of lib/jose: a trusted issuer key whose JWKS a resource server is told to
trust, an attacker key it is not, and helpers that mint good and bad access
tokens (expired, alg none, wrong audience, wrong scope, forged signature).
"""

import base64
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

SCOPE_PTT = "3gpp:mc:ptt_service"
SCOPE_CMS = "3gpp:mc:ptt_config_management_service"
SCOPE_GMS = "3gpp:mc:ptt_group_management_service"
ALL_SCOPES = " ".join(["openid", SCOPE_PTT, SCOPE_CMS, SCOPE_GMS])


def _b64u(n, length):
    return base64.urlsafe_b64encode(n.to_bytes(length, "big")).rstrip(b"=").decode()


class Issuer:
    """An ES256 issuer: `iss`, a private key and its public JWKS."""

    def __init__(self, iss, kid=None):
        self.iss = iss
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = kid or uuid.uuid4().hex[:16]

    def jwks(self):
        pub = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
                          "kid": self.kid, "x": _b64u(pub.x, 32), "y": _b64u(pub.y, 32)}]}

    def write_jwks(self, path):
        path.write_text(json.dumps(self.jwks()))
        return path

    def claims(self, mcptt_id, audience, scope=ALL_SCOPES, lifetime=300, **extra):
        now = int(time.time())
        c = {"iss": self.iss, "sub": mcptt_id.split(":", 1)[-1].split("@")[0],
             "aud": audience if isinstance(audience, list) else [audience],
             "client_id": "mcx-ue", "scope": scope, "mcptt_id": mcptt_id,
             "iat": now, "nbf": now, "exp": now + lifetime, "jti": uuid.uuid4().hex}
        c.update(extra)
        return c

    def token(self, mcptt_id, audience, scope=ALL_SCOPES, lifetime=300, typ="at+jwt",
              **extra):
        """A good access token (or expired, with a negative lifetime)."""
        return jwt.encode(self.claims(mcptt_id, audience, scope, lifetime, **extra),
                          self.key, algorithm="ES256", headers={"kid": self.kid, "typ": typ})


def alg_none(claims):
    """An unsigned token: header {"alg":"none"}, empty signature."""
    enc = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
    return enc({"alg": "none", "typ": "at+jwt"}) + "." + enc(claims) + "."


def hs256(claims, secret, kid):
    """A token MACed with HS256 (an attacker's algorithm-confusion attempt)."""
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid, "typ": "at+jwt"})


def forged(issuer, claims):
    """Claims of `issuer`, signed by another key under issuer's kid."""
    other = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims, other, algorithm="ES256",
                      headers={"kid": issuer.kid, "typ": "at+jwt"})


def tampered(token):
    """A good token with one payload claim changed after signing."""
    h, p, s = token.split(".")
    pad = "=" * (-len(p) % 4)
    claims = json.loads(base64.urlsafe_b64decode(p + pad))
    claims["mcptt_id"] = "sip:mallory@alpha.test"
    p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return h + "." + p2 + "." + s

-- Sign-ins in progress with an OAuth 2.0 / OpenID Connect provider (PROTOCOL E2): one row from
-- `GET /auth/login/{provider}` until its callback uses it (once) or it expires (10 minutes).
-- Only the SHA-256 hash of the `state` is stored; the PKCE verifier and the nonce are derived
-- from a secret held in the browser's cookie and are never stored.

CREATE TABLE sign_in_flows (
    state_hash      BLOB PRIMARY KEY,
    provider        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);

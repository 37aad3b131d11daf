"""The secret scanner behind the Canon Gate's `redaction` check (SPEC 6).

Two corpora: secret shapes that must block and be redacted, and innocent look-alikes
(digests, UUIDs, public keys, prose about tokens, placeholders) that must pass untouched.
Every value is fake and built at runtime from a seeded generator, so no literal in the
repository looks like a live credential to a scanner such as GitHub push protection.
"""

from __future__ import annotations

import base64
import itertools
import random
import string
import subprocess
import sys

import pytest
from helpers.process import time_bound
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.engine.canon.redaction import SCANNER_VERSION, Hit, describe, redact, scan

_RNG = random.Random(6)
_ALNUM = string.ascii_letters + string.digits
_B64 = _ALNUM + "+/"
_B64URL = _ALNUM + "-_"
_UPPER = string.ascii_uppercase + string.digits
_HEX = "0123456789abcdef"


def fake(n: int, alphabet: str = _ALNUM) -> str:
    """`n` characters of seeded noise: shaped like a secret, valid nowhere."""
    while True:
        value = "".join(_RNG.choice(alphabet) for _ in range(n))
        if n < 8 or not _has_all_classes(alphabet) or _has_all_classes(value):
            return value


def _has_all_classes(value: str) -> bool:
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


def pem(label: str, lines: int = 6) -> tuple[str, str]:
    """A PEM block with a fake body, and its first body line."""
    body = [fake(64, _B64) for _ in range(lines)] + [fake(20, _B64) + "=="]
    block = "\n".join([f"-----BEGIN {label}-----", *body, f"-----END {label}-----"])
    return block, body[0]


def jwt() -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(b'{"sub":"wp-17","exp":1893456000}').decode().rstrip("=")
    return f"{header}.{payload}.{fake(43, _B64URL)}"


# ---- secrets: (name, kind, secret, text) ---------------------------------------------------


def _secrets() -> list[tuple[str, str, str, str]]:
    cases: list[tuple[str, str, str, str]] = []

    def add(name: str, kind: str, secret: str, text: str) -> None:
        assert secret in text, name
        cases.append((name, kind, secret, text))

    s = "AKIA" + fake(16, _UPPER)
    add("aws_key_id", "aws_access_key_id", s, f"The upload job ran as {s} until Tuesday.")
    s = "ASIA" + fake(16, _UPPER)
    add("aws_session_key_id", "aws_access_key_id", s, f"export AWS_ACCESS_KEY_ID={s}")
    s = fake(40, _B64)
    add(
        "aws_secret",
        "aws_secret_access_key",
        s,
        f"[default]\naws_access_key_id = AKIA{fake(16, _UPPER)}\naws_secret_access_key = {s}\n",
    )
    s = "ghp_" + fake(36)
    add("github_classic", "github_token", s, f"Pushed with token {s} from CI.")
    s = "gho_" + fake(36)
    add("github_oauth", "github_token", s, f'{{"oauth": "{s}", "scope": "repo"}}')
    s = "github_pat_" + fake(22) + "_" + fake(59)
    add("github_fine_grained", "github_token", s, f"GH_PAT {s}")
    s = "glpat-" + fake(20, _B64URL)
    add("gitlab_pat", "gitlab_token", s, f"git clone using {s} as the password")
    s = "xoxb-" + fake(12, string.digits) + "-" + fake(13, string.digits) + "-" + fake(24)
    add("slack_bot", "slack_token", s, f"SLACK_BOT={s}")
    s = "xoxp-" + fake(11, string.digits) + "-" + fake(12, string.digits) + "-" + fake(32, _HEX)
    add("slack_user", "slack_token", s, f"The user token ({s}) was rotated.")
    s = (
        "https://hooks.slack.com/services/T"
        + fake(8, _UPPER)
        + "/B"
        + fake(8, _UPPER)
        + "/"
        + fake(24)
    )
    add("slack_webhook", "slack_webhook", s, f"Alerts post to {s} on failure.")
    s = "sk_" + "live_" + fake(24)
    add("stripe_secret", "stripe_key", s, f"STRIPE_KEY={s}")
    s = "rk_" + "live_" + fake(24)
    add("stripe_restricted", "stripe_key", s, f"restricted key {s} for reporting")
    s = "AIza" + fake(35, _B64URL)
    add("google_api_key", "google_api_key", s, f"maps: {{ key: {s} }}")
    s = "GOCSPX-" + fake(28, _B64URL)
    add("google_oauth", "google_oauth_client_secret", s, f'{{"client_secret":"{s}"}}')
    s = "sk-" + fake(20) + "T3Blbk" + "FJ" + fake(20)
    add("openai_legacy", "openai_api_key", s, f"OpenAI key {s} in the notebook")
    s = "sk-proj-" + fake(40, _B64URL) + "T3Blbk" + "FJ" + fake(40, _B64URL)
    add("openai_project", "openai_api_key", s, f"OPENAI_API_KEY={s}")
    s = "sk-ant-api03-" + fake(93, _B64URL) + "AA"
    add("anthropic", "anthropic_api_key", s, f"client = Anthropic(api_key={s!r})")
    s = "npm_" + fake(36)
    add("npm", "npm_token", s, f"//registry.npmjs.org/:_authToken={s}")
    s = "hf_" + fake(34, string.ascii_letters)
    add("huggingface", "huggingface_token", s, f"huggingface-cli login --token {s}")
    s = "SG." + fake(22, _B64URL) + "." + fake(43, _B64URL)
    add("sendgrid", "sendgrid_api_key", s, f"SENDGRID={s}")
    s = "SK" + fake(32, _HEX)
    add("twilio", "twilio_api_key", s, f"Twilio API key {s} (sid)")
    for label in (
        "RSA PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "EC PRIVATE KEY",
        "DSA PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "PRIVATE KEY",
    ):
        block, line = pem(label)
        add(f"pem_{label.lower().replace(' ', '_')}", "private_key", line, f"Key:\n{block}\n")
    body = "\n".join(fake(64, _B64) for _ in range(4))
    block = (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: fake\n\n"
        + body
        + "\n-----END PGP PRIVATE KEY BLOCK-----"
    )
    add("pgp_private", "private_key", body.split("\n")[2], block)
    truncated, line = pem("RSA PRIVATE KEY")
    truncated = truncated.rsplit("\n", 2)[0]
    add("pem_unterminated", "private_key", line, "pasted half a key:\n" + truncated)
    s = jwt()
    add("jwt", "jwt", s, f"session cookie: {s}")
    s = fake(86, _B64) + "=="
    add(
        "azure_storage",
        "azure_storage_key",
        s,
        f"DefaultEndpointsProtocol=https;AccountName=cockpit;AccountKey={s};"
        "EndpointSuffix=core.windows.net",
    )
    s = "Zq7-Pw2mK9xL"
    add(
        "url_credentials",
        "url_credentials",
        s,
        f"DATABASE_URL=postgres://app:{s}@db.internal:5432/cockpit",
    )
    s = base64.b64encode(b"deploy:" + fake(12).encode()).decode()
    add("basic_auth", "authorization_header", s, f"curl -H 'Authorization: Basic {s}' ...")
    s = fake(40, _B64URL)
    add("bearer_opaque", "authorization_header", s, f"Authorization: Bearer {s}")
    add("password_python", "password_assignment", "hunter2x", 'password = "hunter2x"')
    s = fake(6, string.ascii_lowercase) + "-" + fake(10)
    add(
        "password_in_a_sentence",
        "password_assignment",
        s,
        f"To log in to staging use password={s} for user app, then run the checks.",
    )
    s = fake(14)
    add("password_spoken", "password_assignment", s, f"The admin password is {s} for now.")
    s = fake(16)
    add("pgpassword_command", "password_assignment", s, f"PGPASSWORD={s} psql -h db -U app")
    s = fake(12)
    add("secret_mid_line", "secret_assignment", s, f"secret={s} rest of the notes")
    s = fake(12)
    add("mysql_p_flag", "password_assignment", s, f"mysql -u root -p{s} cockpit")
    s = fake(12)
    add("mysql_p_quoted", "password_assignment", s, f"mysql -uroot -p'{s}' cockpit")
    s = fake(11) + "!"
    add("password_spoken_quoted", "password_assignment", s, f'the password was "{s}" then')
    add("password_yaml", "password_assignment", "s3cr3t!Pass", "db:\n  DB_PASSWORD: s3cr3t!Pass\n")
    add(
        "passphrase_quoted",
        "password_assignment",
        "correct horse battery staple",
        'passphrase: "correct horse battery staple"',
    )
    add(
        "password_dsn",
        "password_assignment",
        "Zx9!kq2Lm",
        "dsn: host=db user=app password=Zx9!kq2Lm sslmode=require",
    )
    add(
        "password_typed",
        "password_assignment",
        "Pa55-w0rd!",
        'class Settings:\n    password: str = "Pa55-w0rd!"\n',
    )
    s = fake(20, _B64URL)
    add("api_key_yaml", "secret_assignment", s, f"service:\n  api_key: {s}\n")
    s = fake(32)
    add("client_secret_json", "secret_assignment", s, f'{{"client_secret": "{s}"}}')
    s = fake(40, _B64)
    add("high_entropy_prose", "high_entropy_string", s, f"The seed was {s} for that run.")
    s = fake(32, _B64URL)
    add("high_entropy_url_safe", "high_entropy_string", s, f"cookie-signing value: '{s}'")
    return cases


SECRETS = _secrets()


@pytest.mark.parametrize(
    ("name", "kind", "secret", "text"), SECRETS, ids=[case[0] for case in SECRETS]
)
def test_every_secret_blocks_and_is_redacted(name: str, kind: str, secret: str, text: str) -> None:
    hits = scan(text)
    assert kind in {hit.kind for hit in hits}, (name, hits)
    redacted = redact(text)
    assert secret not in redacted
    assert f"[REDACTED:{kind}]" in redacted
    detail = describe(hits)
    assert secret not in detail
    assert kind in detail
    # Redacting is idempotent: the markers themselves never look like secrets.
    assert scan(redacted) == []


# ---- innocent look-alikes: (name, text) ----------------------------------------------------


def _innocents() -> list[tuple[str, str]]:
    public_pem, _ = pem("PUBLIC KEY")
    certificate, _ = pem("CERTIFICATE", lines=12)
    sha1 = "5507eff19c757a908a2ff29dfe423e35595fda00"
    sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    return [
        ("git_sha", f"Fixed in {sha1}; reverted by a1b2c3d and 5507eff."),
        ("sha256_digest", f"artifact sha256: {sha256}"),
        ("docker_digest", f"image: python@sha256:{sha256}"),
        ("uuid_lower", "wp id 550e8400-e29b-41d4-a716-446655440000 accepted"),
        ("uuid_upper", "TENANT=6BA7B810-9DAD-11D1-80B4-00C04FD430C8"),
        ("pem_public_key", f"Verify with:\n{public_pem}\n"),
        ("pem_certificate", certificate),
        (
            "ssh_rsa",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ" + fake(300, _B64) + " alice@laptop",
        ),
        ("ssh_ed25519", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + fake(43, _B64) + " ci@runner"),
        ("aws_prose", "Access key ids start with the AKIA prefix; session keys with ASIA."),
        ("aws_docs_example", "AWS documents AKIAIOSFODNN7EXAMPLE as its sample key id."),
        ("github_prose", "ghp_ tokens are classic personal tokens; github_pat_ ones are scoped."),
        ("password_reset", "The password reset flow sends a one-time link by email."),
        ("token_bucket", "A token bucket refills 10 tokens per second; max_tokens: 4096."),
        ("sk_learn", "We trained it with sk-learn (scikit-learn 1.5) and sk-ant- style ids."),
        ("jwt_prose", 'eyJ in a JWT header is just base64 for {"'),
        ("private_key_prose", "A file that starts with -----BEGIN RSA PRIVATE KEY----- is secret."),
        ("env_reference", 'API_TOKEN=${API_TOKEN}\ntoken: "$TOKEN"\nsecret: %APP_SECRET%'),
        ("environ_lookup", 'password = os.environ["PASSWORD"]\napi_key = os.getenv("API_KEY")'),
        ("placeholder_angle", "password: <your password>"),
        (
            "placeholders",
            "password: changeme\napi_key: your-api-key-here\ntoken: xxx\nsecret: '***'\n"
            'password: null\npassword: ""\napi_key: ...\nauth_token: REDACTED\n',
        ),
        ("bearer_placeholder", "Authorization: Bearer <token>\nAuthorization: Bearer $TOKEN"),
        ("camel_case", "AbstractSingletonProxyFactoryBean2Builder extends ProxyFactoryV2Base"),
        ("snake_case", "def test_redact_handles_jwt_inside_bearer_header_v2(): ..."),
        ("file_path", "/home/alice/Projects/Cockpit2/src/cockpit/engine/redaction.py"),
        ("url", "https://api.example.com:8443/v2/UsersByTenant/12345?page=2&sort=Desc"),
        ("url_no_password", "postgres://app@db.internal:5432/cockpit and postgres://u:${PW}@db/x"),
        ("email", "Contact alice.smith+cockpit@example.co.uk about WP-42."),
        ("timestamp", "accepted_at: 2024-05-17T09:30:00.123456+02:00"),
        ("semver", "cockpit 1.2.3-rc.1+build.20240517 needs textual>=8.2,<8.3"),
        ("base64_word", "aGVsbG8gd29ybGQ= is base64 for hello world"),
        (
            "python_snippet",
            "def login(user: str, password: str) -> Token:\n"
            "    token = request.headers.get('Authorization')\n"
            "    api_key: SecretStr\n"
            "    return connect(user=user, password=password, token=token)\n",
        ),
        (
            "yaml_snippet",
            "database:\n  host: db.internal\n  port: 5432\n  password: ${DB_PASSWORD}\n"
            "llm:\n  max_tokens: 4096\n  token: 120000\n  secret_name: prod-db\n",
        ),
        (
            "markdown_table",
            "| Kind | Prefix | Notes |\n|---|---|---|\n| GitHub | `ghp_` | classic |\n"
            "| Slack | `xoxb-` | bot tokens |\n| Stripe | `sk_live_` | never commit |\n",
        ),
        ("password_prose", "Password: must be at least 12 characters long."),
        ("spoken_prose", "The password is required; the token is refreshed every 3600 seconds."),
        ("mysql_prompt", "mysql -u root -p cockpit_db (it prompts for the password)"),
        (
            "names_in_prose",
            "The secret is Base64Encoded; the token was OAuth2Token; the password is Argon2id "
            "hashed; token: Float64Array for the model; password=Python311 in the matrix; "
            "the token is IPv6Address-compatible; the password is MyApp2024Config.",
        ),
        ("password_version", "password: v2.3.1-rc1 policy, secret=hmac-sha256 for signing"),
        ("description_json", '{"token": "The token used for the upload"}'),
        ("slack_docs_webhook", "https://hooks.slack.com/services/T00000000/B00000000/" + "X" * 24),
        (
            "sri_hash",
            'integrity="sha384-' + fake(64, _B64) + '" crossorigin="anonymous"',
        ),
        (
            "code_constants",
            'SECRET_FILE = "secrets/key.txt"\ntoken = f"{prefix}-{serial:04d}"\n'
            "auth_token = make_token(user)\npassword = self.settings.password\n",
        ),
        ("redacted_record", 'password = "[REDACTED:password_assignment]" (rotated)'),
    ]


INNOCENTS = _innocents()


@pytest.mark.parametrize(("name", "text"), INNOCENTS, ids=[case[0] for case in INNOCENTS])
def test_no_innocent_text_blocks(name: str, text: str) -> None:
    assert scan(text) == []
    assert redact(text) == text
    assert describe(scan(text)) == ""


def test_corpora_are_big_enough() -> None:
    assert len(SECRETS) >= 20
    assert len(INNOCENTS) >= 20
    assert len({kind for _, kind, _, _ in SECRETS}) >= 20


# ---- several secrets, overlaps, lines -------------------------------------------------------


def test_several_secrets_in_one_record_each_named_with_its_line() -> None:
    token = "ghp_" + fake(36)
    key, key_line = pem("EC PRIVATE KEY", lines=2)
    text = f"Notes for WP-7\n\n{key}\nthen pushed with {token}\npassword = 'Tr0ub4dor3'\n"
    hits = scan(text)
    assert [(h.kind, h.line) for h in hits] == [
        ("private_key", 3),
        ("github_token", 8),
        ("password_assignment", 9),
    ]
    assert describe(hits) == (
        "3 secrets found: private_key (line 3), github_token (line 8), password_assignment (line 9)"
    )
    redacted = redact(text, hits)
    for secret in (token, key_line, "Tr0ub4dor3", "END EC PRIVATE KEY"):
        assert secret not in redacted
    assert redacted.startswith("Notes for WP-7\n\n[REDACTED:private_key]\nthen pushed with")


def test_the_private_key_span_is_the_whole_block() -> None:
    key, _ = pem("OPENSSH PRIVATE KEY")
    text = f"before\n{key}\nafter"
    (hit,) = scan(text)
    assert text[hit.start : hit.end] == key
    assert redact(text) == "before\n[REDACTED:private_key]\nafter"


def test_a_jwt_inside_a_bearer_header_counts_once() -> None:
    token = jwt()
    text = f"Authorization: Bearer {token}\n"
    hits = scan(text)
    assert [(h.kind, h.line) for h in hits] == [("jwt", 1)]
    assert redact(text) == "Authorization: Bearer [REDACTED:jwt]\n"


def test_a_known_token_in_an_assignment_is_named_by_its_specific_kind() -> None:
    token = "glpat-" + fake(20, _B64URL)
    hits = scan(f"GITLAB_TOKEN: {token}")
    assert [h.kind for h in hits] == ["gitlab_token"]


def test_hits_are_sorted_non_overlapping_and_carry_offsets() -> None:
    # The unterminated key would (rightly) swallow everything after it, so it goes last.
    cases = sorted(SECRETS, key=lambda case: case[0] == "pem_unterminated")
    text = "\n".join(text for _, _, _, text in cases)
    hits = scan(text)
    assert {hit.kind for hit in hits} == {kind for _, kind, _, _ in SECRETS}
    for before, after in itertools.pairwise(hits):
        assert before.end <= after.start
    for hit in hits:
        assert hit.line == text.count("\n", 0, hit.start) + 1
    redacted = redact(text)
    for _, _, secret, _ in SECRETS:
        assert secret not in redacted


def test_assignment_redaction_keeps_the_label_readable() -> None:
    assert redact('password = "hunter2x"') == 'password = "[REDACTED:password_assignment]"'
    assert redact("postgres://app:Zq7-Pw2mK9xL@db:5432/x") == (
        "postgres://app:[REDACTED:url_credentials]@db:5432/x"
    )


def test_redact_with_explicit_hits_and_describe_edge_cases() -> None:
    assert redact("nothing here", []) == "nothing here"
    assert redact("abcdef", [Hit("x", 1, 3, 1), Hit("y", 2, 5, 1)]) == "a[REDACTED:x]f"
    assert describe([]) == ""
    assert describe([Hit("jwt", 0, 5, 4)]) == "1 secret found: jwt (line 4)"
    many = [Hit("jwt", i, i + 1, i + 1) for i in range(12)]
    assert describe(many).endswith("jwt (line 10) and 2 more")
    assert SCANNER_VERSION == "secrets/v1"


# ---- hostile and large input -----------------------------------------------------------------


# A watchdog, not a speed limit: every input scans in well under a second today.
ADVERSARIAL_BOUND_S = 60.0


@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000,
        "AKIA" * 50_000,
        "-----BEGIN " * 10_000,
        "-----BEGIN RSA PRIVATE KEY-----" * 5_000,
        "-----BEGIN CERTIFICATE-----\n" * 5_000,
        "-----END RSA PRIVATE KEY-----" * 5_000,
        "eyJ" * 70_000,
        "eyJabcdefghijk." * 15_000,
        "a://" * 50_000,
        "x://u:" * 40_000,
        "password=" * 25_000,
        "password: a\n" * 20_000,
        "Authorization: Bearer " * 10_000,
        "ghp_" + "A" * 200_000,
        "sk-" + "a" * 200_000,
        "Ab1" * 70_000,
        "Ab1/" * 50_000,
        "SG." * 70_000,
        "data:" * 40_000,
        "ssh-rsa AAAA" * 20_000,
        "sha256-" * 30_000,
        "=" * 200_000,
        "\n" * 200_000,
    ],
    ids=lambda text: repr(text[:16]),
)
def test_adversarial_input_finishes(text: str) -> None:
    # No timing assertion: a watchdog far above any normal run turns a pattern that
    # backtracks catastrophically into a failure that names the input.
    with time_bound(ADVERSARIAL_BOUND_S, f"scanning {text[:16]!r}... ({len(text)} chars)"):
        redact(text, scan(text))


def test_a_mebibyte_of_prose_scans() -> None:
    sentence = (
        "The operator accepted WP-1234 after the verify gate passed at 2024-05-17T09:30Z; "
        "see commit 5507eff19c757a908a2ff29dfe423e35595fda00 and docs/reviewer-guide.md. "
    )
    text = sentence * (2**20 // len(sentence))
    assert scan(text) == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(_B64URL + " \n:=\"'/.@-"), max_size=400))
def test_scan_is_well_formed_on_any_text(text: str) -> None:
    hits = scan(text)
    assert all(0 <= h.start < h.end <= len(text) for h in hits)
    assert all(a.end <= b.start for a, b in itertools.pairwise(hits))
    assert redact(text, []) == text
    assert (redact(text) == text) == (hits == [])


def test_the_scanner_does_not_import_textual() -> None:
    code = "import sys, cockpit.engine.canon.redaction; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr

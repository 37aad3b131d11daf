"""The secret scanner's rules: what a key, token, private key or password looks like, and
what only looks like one (placeholders, references, names built of words, public key
material). `redaction` runs them; the order of `RULES` decides the kind of overlapping hits.

Every pattern is linear: unbounded repeats only start where a lookbehind says a run begins,
everything else is bounded, so hostile input cannot make the scan backtrack for ever.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] | None = None


# ---- placeholders: values that stand for a secret without being one ----------------------

_PLACEHOLDER_TEXT = (
    "none null nil undefined true false yes no on off empty default required optional "
    "string str bytes int secret secrets password passwd pass token tokens apikey api_key "
    "key value test testing sample dummy todo tbd fixme hidden masked censored foo bar baz "
    "foobar n/a na tba - ~"
)
_PLACEHOLDER_WORDS = frozenset(_PLACEHOLDER_TEXT.split())
_PLACEHOLDER_MARKERS = ("example", "placeholder", "changeme", "change_me", "change-me", "dummy")
_PLACEHOLDER_PREFIXES = ("your", "my_", "my-", "insert", "enter", "replace", "[redacted")
_MASK_CHARS = frozenset("x*.-_# \u2022\u2026")
_REFERENCE = re.compile(r"\$\{?[A-Za-z_]\w*\}?|%[A-Za-z_]\w*%")
# `settings.password`, `os.environ[`, `getenv(`: code that fetches a secret, not a secret.
_EXPRESSION = re.compile(r"[A-Za-z_][\w.]*[(\[]|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_FILE_PATH = re.compile(r"[\w.~-]*/[\w.~/-]*\.[A-Za-z]{1,5}")
_PROSE_WORDS = "the a an to of for in on is are be used with your this that and or"
_STOPWORDS = frozenset(_PROSE_WORDS.split())


def _is_placeholder(value: str) -> bool:
    v = value.strip()
    low = v.lower()
    return (
        not v
        or v[0] in "<{["
        or v.startswith(("${", "#{", "%("))
        or _REFERENCE.fullmatch(v) is not None
        or len(set(low)) == 1
        or set(low) <= _MASK_CHARS
        or "..." in v
        or "\u2026" in v
        or low in _PLACEHOLDER_WORDS
        or any(marker in low for marker in _PLACEHOLDER_MARKERS)
        or low.startswith(_PLACEHOLDER_PREFIXES)
    )


def _mixed(value: str, classes: int = 2) -> bool:
    """Whether `value` mixes at least `classes` of upper case, lower case and digits."""
    has = (
        any(c.isupper() for c in value),
        any(c.islower() for c in value),
        any(c.isdigit() for c in value),
    )
    return sum(has) >= classes


def _real_token(m: re.Match[str], classes: int = 3) -> bool:
    token = m.group("s") if "s" in m.re.groupindex else m.group()
    return _mixed(token, classes) and not _is_placeholder(token)


# ---- key = value assignments ------------------------------------------------------------

_SEPARATOR = (
    r"[\"']?[ \t]{0,4}"
    r"(?::[ \t]{0,4}[A-Za-z_][\w\[\]., |]{0,40}?[ \t]{0,4}=(?![=~>])"  # `token: str = "..."`
    r"|:=|=>|=(?![=~>])|:(?![:=]))"
    r"[ \t]{0,4}"
)
_VALUE = (
    r"(?:[rRbBuUfF]{1,2})?(?:\"(?P<dq>[^\"\n]{1,256})\"|'(?P<sq>[^'\n]{1,256})')"
    r"|(?P<bare>[^\s'\"`,;&)}\]]{1,256})"
)
_PASSWORD_LABEL = r"(?i:pass(?:word|wd|phrase))"
_SECRET_LABEL = (
    r"(?i:secret|token|apikey"
    r"|(?:api|access|secret|private|auth|signing|encryption|master)[_-]?key)"
)


def _value(m: re.Match[str]) -> tuple[str, bool]:
    """The assigned value and whether it was quoted."""
    if m.group("bare") is not None:
        return m.group("bare"), False
    return m.group("dq") if m.group("dq") is not None else m.group("sq"), True


def _ends_statement(text: str, end: int) -> bool:
    """Whether an unquoted value is the whole right-hand side, as in a config file, rather
    than the first word of a sentence (`Password: must be at least 8 characters`)."""
    rest = text[end : end + 200].split("\n", 1)[0].strip()
    if not rest or rest.startswith(("#", "//")) or rest[0] in ",;&)}]":
        return True
    word = rest.split()[0]
    return "=" in word or word.endswith(":")


def _accept_assignment(m: re.Match[str], *, numbers: bool) -> bool:
    value, quoted = _value(m)
    if len(value.strip()) < 6 or _is_placeholder(value):
        return False
    if quoted:
        if ("{" in value and "}" in value) or _FILE_PATH.fullmatch(value):
            return False  # a template (`f"{prefix}-{n}"`) or a file name, not a secret
        words = value.lower().split()
        return not (len(words) > 1 and any(w.strip(".,:;!?'") in _STOPWORDS for w in words))
    if value[0] in "$%(" or _EXPRESSION.match(value):
        return False
    if re.fullmatch(r"[A-Za-z_]\w*", value) and not any(c.isdigit() for c in value):
        return False  # a variable or constant name: `password=password`, `api_key: SecretStr`
    if not numbers and re.fullmatch(r"[\d.]+", value):
        return False  # `token: 100000` is a budget, not a credential
    return _ends_statement(m.string, m.end()) or _looks_secret(value)


_NAME_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z]+|[a-z]+|\d+")


def _name_like(value: str) -> bool:
    """Whether `value` reads as a name built of words, acronyms and short numbers
    (`OAuth2Token`, `MyApp2024Config`, `IPv6Address-compatible`, `SecretStr2`) rather
    than random text (`Kx9mQ2vL7pR4`: a lone `m`, `x9m` are no words)."""
    in_words = 0  # characters in words of three letters or more
    for part in re.split(r"[-_.]", value):
        tokens = _NAME_TOKEN.findall(part)
        if "".join(tokens) != part:
            return False  # a symbol inside a part: not a name
        in_words += sum(len(t) for t in tokens if len(t) >= 3 and not t.isdigit())
        for token in tokens:
            if token.isdigit():
                if len(token) > 4:
                    return False
            elif token.isupper():
                if len(token) > 5:
                    return False
            elif len(token) < 2 or (len(token) >= 4 and not set(token.lower()) & set("aeiouy")):
                return False
    return in_words * 2 >= len(value)  # mostly words, as names are


def _looks_secret(value: str) -> bool:
    """Whether a value in running text is shaped like a credential rather than a word or
    a name (`password=Tr0ub4dor-93 for the box`, not `Password: must be 12 long`,
    `the secret is Base64Encoded`, `token: Float64Array`): eight characters or more
    mixing upper case, lower case and digits, and either digits set inside words
    (`s3cr3t`, `Tr0ub4dor`), a symbol (`S3cretPass!`), or not built like a name. Not a
    path, a version or a placeholder."""
    v = value.strip("'\"").rstrip(".,:;!?")
    if (
        len(v) < 8
        or not _mixed(v, 3)
        or "/" in v
        or re.fullmatch(r"v?\d+(?:[.-]\w+)*", v)
        or _is_placeholder(v)
    ):
        return False
    inside = len(re.findall(r"(?<=[A-Za-z])\d(?=[A-Za-z])", v))
    symbol = re.search(r"[!@#$%^&*+=?~]", v) is not None
    return inside >= 2 or symbol or not _name_like(v)


def _spoken(kind: str, label: str) -> _Rule:
    """`the password is X`, `password was: X`, `the password is now 'X'`: a credential
    said in a sentence."""
    return _Rule(
        kind,
        re.compile(
            label
            + r"[ \t]{1,4}(?:is|was)(?:[ \t]{1,4}now)?:?[ \t]{1,4}"
            + r"(?:\"(?P<dq>[^\"\n]{8,256})\"|'(?P<sq>[^'\n]{8,256})'"
            + r"|(?P<bare>[^\s'\"`,;)}\]]{8,256}))"
        ),
        lambda m: _looks_secret(m.group("dq") or m.group("sq") or m.group("bare")),
    )


def _assignment(kind: str, label: str, *, numbers: bool) -> _Rule:
    return _Rule(
        kind,
        re.compile(label + _SEPARATOR + "(?:" + _VALUE + ")"),
        lambda m: _accept_assignment(m, numbers=numbers),
    )


# ---- the rules, most specific first (the order decides the kind of overlapping hits) -----

RULES: Final[tuple[_Rule, ...]] = (
    _Rule(
        "aws_access_key_id",
        re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        lambda m: "EXAMPLE" not in m.group(),  # AWS's documented sample keys
    ),
    _Rule(
        "aws_secret_access_key",
        re.compile(
            r"(?i:aws_?secret_?access_?key|aws_?secret(?:_?key)?|secret_?access_?key)"
            r"[\"']?[ \t]{0,4}(?:=>|=|:)[ \t]{0,4}[\"']?"
            r"(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        lambda m: "EXAMPLE" not in m.group("s"),
    ),
    _Rule(
        "github_token",
        re.compile(
            r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{50,250})"
            r"(?![A-Za-z0-9_])"
        ),
    ),
    _Rule("gitlab_token", re.compile(r"(?<![\w-])glpat-[\w-]{20,100}(?![\w-])")),
    _Rule(
        "slack_token",
        re.compile(r"(?<![\w-])xox[abprs]-[A-Za-z0-9-]{10,250}(?![\w-])"),
        lambda m: any(c.isdigit() for c in m.group()),
    ),
    _Rule(
        "slack_webhook",
        re.compile(
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,200}"
        ),
        lambda m: not _is_placeholder(m.group().rsplit("/", 1)[-1]),
    ),
    _Rule(
        "discord_webhook",
        re.compile(r"https://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/\d{5,30}/[\w-]{40,100}"),
    ),
    _Rule("stripe_key", re.compile(r"(?<!\w)(?:sk|rk)_live_[A-Za-z0-9]{20,247}(?!\w)")),
    _Rule("google_api_key", re.compile(r"(?<![\w-])AIza[\w-]{35}(?![\w-])")),
    _Rule("google_oauth_client_secret", re.compile(r"(?<![\w-])GOCSPX-[\w-]{24,40}(?![\w-])")),
    _Rule("anthropic_api_key", re.compile(r"(?<![\w-])sk-ant-[\w-]{20,300}(?![\w-])"), _real_token),
    _Rule(
        "openai_api_key",
        re.compile(
            r"(?<![\w-])sk-(?:(?:proj|svcacct|admin)-[\w-]{20,300}"
            r"|[\w-]{10,200}T3BlbkFJ[\w-]{10,200})(?![\w-])"
        ),
        _real_token,
    ),
    _Rule("npm_token", re.compile(r"(?<!\w)npm_[A-Za-z0-9]{36}(?!\w)"), _real_token),
    _Rule(
        "huggingface_token",
        re.compile(r"(?<!\w)hf_[A-Za-z0-9]{30,40}(?!\w)"),
        lambda m: _real_token(m, classes=2),  # letters only, in both cases
    ),
    _Rule("sendgrid_api_key", re.compile(r"(?<![\w.-])SG\.[\w-]{16,32}\.[\w-]{30,64}(?![\w-])")),
    _Rule(
        "twilio_api_key",
        re.compile(r"(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])"),
        lambda m: _mixed(m.group()[2:].upper(), 2),  # hex letters and digits, not a run of one
    ),
    _Rule(
        "azure_storage_key",
        re.compile(
            r"(?i:AccountKey|SharedAccessKey)[ \t]{0,4}=[ \t]{0,4}"
            r"(?P<s>[A-Za-z0-9+/]{40,120}={0,2})"
        ),
    ),
    _Rule(
        "jwt",
        re.compile(r"(?<![\w-])eyJ[\w-]{10,}\.ey[\w-]{10,}\.[\w-]{10,}"),
    ),
    _Rule(
        "url_credentials",
        re.compile(
            r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/?#@\"'<>]{0,128}:"
            r"(?P<s>[^\s/?#@\"'<>]{1,256})@(?=[\w\[])"
        ),
        lambda m: len(m.group("s")) >= 4 and not _is_placeholder(m.group("s")),
    ),
    _Rule(
        "authorization_header",
        re.compile(
            r"(?i:authorization[\"']?[ \t]{0,4}[:=][ \t]{0,4}[\"']?(?:bearer|basic|token)"
            r"|(?<![\w-])bearer)[ \t]{1,8}(?P<s>[A-Za-z0-9._~+/-]{8,4096}=*)"
        ),
        lambda m: len(m.group("s")) >= 12 and _real_token(m, classes=2),
    ),
    _assignment("password_assignment", _PASSWORD_LABEL, numbers=True),
    _assignment("secret_assignment", _SECRET_LABEL, numbers=False),
    _spoken("password_assignment", _PASSWORD_LABEL),
    _spoken("secret_assignment", _SECRET_LABEL),
    _Rule(
        "password_assignment",  # mysql -u root -pS3cret (the password glued to -p)
        re.compile(
            r"(?<![\w-])mysql(?:dump|admin|import|sh)?\b[^\n]{0,200}?[ \t]-p"
            r"[\"']?(?P<s>[^\s'\"`]{6,256})"
        ),
        # After mysql's -p, the word is a password by definition, name-shaped or not.
        lambda m: not _is_placeholder(m.group("s")) and m.group("s")[0] not in "$%(",
    ),
)

GENERIC_KIND: Final = "high_entropy_string"

# ---- PEM blocks: private keys are secrets, public keys and certificates are not ----------

_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9][A-Z0-9 ]{0,60}?)-----")
_PEM_END = re.compile(r"-----END [A-Z0-9][A-Z0-9 ]{0,60}?-----")
_KEY_BODY = re.compile(r"[A-Za-z0-9+/=]{16}")


def pem_blocks(text: str) -> Iterator[tuple[bool, int, int]]:
    """(is_private_key, start, end) of each PEM block. A block runs to its END line; an
    unterminated private key runs to the next BEGIN or the end of the text. A private-key
    header with no key material after it (prose naming the header) is not a block."""
    begin = _PEM_BEGIN.search(text)
    end = _PEM_END.search(text)
    while begin is not None:
        following = _PEM_BEGIN.search(text, begin.end())
        while end is not None and end.start() < begin.end():
            end = _PEM_END.search(text, end.end())  # each END is looked for once: linear
        limit = following.start() if following is not None else len(text)
        closed = end is not None and end.start() < limit
        if "PRIVATE KEY" in begin.group(1):
            body_end = end.start() if closed and end is not None else limit
            if _KEY_BODY.search(text, begin.end(), min(body_end, begin.end() + 4096)):
                yield True, begin.start(), end.end() if closed and end is not None else limit
        elif closed and end is not None:
            yield False, begin.start(), end.end()
        begin = following


# ---- generic high-entropy strings ---------------------------------------------------------

RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{24,}")
# Where random-looking runs are expected and public: key blobs, data URIs, integrity hashes,
# and URLs (credentials in a URL are found by `url_credentials`).
PUBLIC_MATERIAL = re.compile(
    r"(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d{3}"
    r"|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)[ \t]+AAAA[A-Za-z0-9+/]+=*"
    r"|data:[\w/.+;=-]{1,200}?;base64,[A-Za-z0-9+/]+=*"
    r"|(?<![\w-])sha(?:1|224|256|384|512)[-=:][A-Za-z0-9+/_-]+=*"
    r"|(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s\"'<>]*"
)
_SEPARATORS = re.compile(r"[/+_-]+")
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_SINGLE_CASE = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z0-9]+")
# The hundred commonest English letter pairs: words (and names built from words) are made of
# them, random characters mostly are not.
_PAIRS_TEXT = (
    "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le "
    "ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec "
    "pr no ct us ac ot il tr ly nc et ut ss so rs un lo wa ge ie wh ee wi em ad ol rt po we na "
    "ul ni ts"
)
_COMMON_PAIRS = frozenset(_PAIRS_TEXT.split())


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _english_share(word: str) -> float:
    low = word.lower()
    pairs = [low[i : i + 2] for i in range(len(low) - 1) if low[i : i + 2].isalpha()]
    return sum(p in _COMMON_PAIRS for p in pairs) / len(pairs) if pairs else 0.0


def looks_random(run: str) -> bool:
    """Whether a run of base64 characters is a random token rather than a name, a path or
    a hex digest. Thresholds were tuned on random strings (about 1% of 24-character and
    0.1% of 40-character random strings are missed) against ~6,700 mixed-case names and paths
    harvested from Python and C source trees."""
    n = len(run)
    if not _mixed(run, 3) or re.fullmatch(r"[0-9a-fA-F-]+", run):
        return False
    # 4 bits per character, relaxed for short runs whose ceiling is log2(n).
    if _entropy(run) < min(4.0, math.log2(n) - 0.9):
        return False
    pieces = [p for p in _SEPARATORS.split(run) if p]
    if len(pieces) > 2 + n / 10:
        return False  # a separator every few characters: a path or a snake_case name
    segments = _SEGMENT.findall(run)
    if sum(map(len, segments)) / len(segments) >= 3.5:
        return False  # long runs of one case: CamelCase words
    words = sum(len(s) for s in segments if len(s) >= 4 and _english_share(s) >= 0.5)
    if words / n >= 0.4 or _english_share(run) >= 0.5:
        return False
    if len(pieces) >= 3:
        tidy = sum(len(p) for p in pieces if _SINGLE_CASE.fullmatch(p))
        if tidy * 2 >= sum(map(len, pieces)):
            return False  # path components like `blake2b-ref`, `get0_attrs`
    return True

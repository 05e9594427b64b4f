"""No secret is committed: no .env, no generated password, no private key, no credential written
into a file; the files that hold them locally are git-ignored."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stockstream.config import PROJECT_ROOT

pytestmark = pytest.mark.unit

PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----")
# name = value, name: value, "name": "value", for names that hold credentials.
ASSIGNMENT = re.compile(
    r"""(?ix)
    (?P<name>[a-z0-9_.\-]*(?:password|passwd|secret|token|api[_-]?key|fernet[_-]?key|private[_-]?key))
    ["']?\s*[:=]\s*
    (?P<quote>["']?)(?P<value>[^"'\s,;)}\]]*)
    """
)
# Values that are no credential: references to variables, placeholders and code.
PLACEHOLDER = re.compile(
    r"""(?ix)^(
        |\$.*|\{.*|<.*|%.*|\*+
        |.*(change[-_]?me|example|placeholder|dummy|redacted|your[-_]|generate|x{4,}).*
        |none|null|true|false|required|optional
    )$"""
)
ALLOW = "pragma: allowlist secret"  # the detect-secrets convention, for deliberate test values


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def committable() -> list[Path]:
    """Files that are tracked, or would be by `git add -A` (untracked and not ignored)."""
    if shutil.which("git") is None or git("rev-parse", "--is-inside-work-tree").returncode != 0:
        pytest.skip("not a git checkout")
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
    return [PROJECT_ROOT / name for name in sorted(set(listed.split("\0"))) if name]


def text_of(path: Path) -> str | None:
    """The file as text; None for a binary, missing or very large file."""
    try:
        if path.stat().st_size > 5_000_000:
            return None
        data = path.read_bytes()
    except OSError:  # listed by git, removed in the working tree
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def credentials_in(text: str, code: bool = False) -> list[str]:
    """`name = value` lines whose value looks like a real credential; in code (`code`) only
    quoted values count, an unquoted one being an expression."""
    found = []
    for line in text.splitlines():
        if ALLOW in line:
            continue
        for match in ASSIGNMENT.finditer(line):
            value = match.group("value")
            quoted = bool(match.group("quote"))
            expression = not quoted and (code or re.search(r"[.(\[]", value) is not None)
            if len(value) >= 8 and not expression and not PLACEHOLDER.match(value):
                found.append(line.strip())
    return found


def test_the_scanner_catches_credentials_and_passes_references() -> None:
    leaks = [
        "POSTGRES_PASSWORD=hunter2hunter2",  # pragma: allowlist secret
        "  password: 'Tr0ub4dor&3xyz'",  # pragma: allowlist secret
        '"jwt_secret": "7f3a9c2e1b4d5f60"',  # pragma: allowlist secret
        "AIRFLOW__CORE__FERNET_KEY=ZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFrZWZha2U=",  # pragma: allowlist secret
        "sasl.jaas.config password=abcdefgh12345",  # pragma: allowlist secret
    ]
    fine = [
        "POSTGRES_PASSWORD=${POSTGRES_PASSWORD}",
        "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}",
        "AIRFLOW_ADMIN_PASSWORD=change-me",
        "password = settings.kafka_sasl_password.get_secret_value()",
        "password=None",
        'token = reply.json()["access_token"]',
        "KAFKA_SASL_PASSWORD=",
        "  --password <the password>",
        f"secret = 'literal-for-a-test'  # {ALLOW}",  # pragma: allowlist secret
    ]
    assert [credentials_in(line) for line in leaks] == [[line.strip()] for line in leaks]
    assert [line for line in fine if credentials_in(line)] == []
    # In code an unquoted value is an expression, a quoted one still a credential.
    assert credentials_in("self._password = password or admin_password()", code=True) == []
    token = "TOKEN = 'a1b2c3d4e5f6'"  # pragma: allowlist secret
    assert credentials_in(token, code=True) == [token]
    dashes = "-" * 5  # not written out, or this file would hold the pattern it looks for
    assert PRIVATE_KEY.search(f"{dashes}BEGIN RSA PRIVATE KEY{dashes}\nMIIE")
    assert PRIVATE_KEY.search(f"{dashes}BEGIN PRIVATE KEY{dashes}")
    assert not PRIVATE_KEY.search(f"{dashes}BEGIN CERTIFICATE{dashes}")


def test_no_env_file_generated_password_or_key_file_is_committed(committable: list[Path]) -> None:
    names = [path.relative_to(PROJECT_ROOT).as_posix() for path in committable]
    assert names, "git lists the checkout's files"
    secret_suffixes = (".generated", ".pem", ".key", ".p12", ".jks", ".keystore", "id_rsa", "id_ed25519")

    def secret_file(name: str) -> bool:
        base = Path(name).name
        env_file = (base == ".env" or base.startswith(".env.")) and not base.endswith(".example")
        return env_file or "password" in base.lower() or name.endswith(secret_suffixes)

    bad = [name for name in names if secret_file(name) or name.startswith("var/")]
    assert bad == []


def test_no_committed_file_holds_a_private_key_or_a_credential(committable: list[Path]) -> None:
    keys, credentials = [], []
    for path in committable:
        text = text_of(path)
        if text is None:
            continue
        name = path.relative_to(PROJECT_ROOT).as_posix()
        if PRIVATE_KEY.search(text):
            keys.append(name)
        code = path.suffix in (".py", ".ipynb")
        credentials += [f"{name}: {line}" for line in credentials_in(text, code=code)]
    assert keys == []
    assert credentials == []


def test_the_local_secrets_are_git_ignored(committable: list[Path]) -> None:
    ignored = [
        ".env",
        "var/airflow/simple_auth_manager_passwords.json.generated",
        "var/airflow/airflow.cfg",
        "var/kafka/server.properties",
    ]
    for name in ignored:
        assert git("check-ignore", "-q", name).returncode == 0, f"{name} is not git-ignored"
    # The template is committed, so it must not be ignored.
    assert git("check-ignore", "-q", ".env.example").returncode == 1

"""Account helpers that need no database."""

from __future__ import annotations

from models.accounts import generate_password, password_problem


def test_generated_passwords_always_pass_the_password_policy() -> None:
    # drawn as 16 URL-safe characters, about one in 28 was all letters and the admin's reset failed
    passwords = [generate_password() for _ in range(2000)]
    assert [p for p in passwords if password_problem(p)] == []
    assert len(set(passwords)) == len(passwords)

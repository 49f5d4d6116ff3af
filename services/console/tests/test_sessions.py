import pytest
from zhongshi_console.auth import User, safe_next
from zhongshi_console.sessions import CSRF_KEY, USER_KEY, SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_forgotten_after_its_idle_time_and_kept_while_used() -> None:
    clock = Clock()
    store = SessionStore(idle_s=60, max_sessions=10, clock=clock)
    sid, data = store.create()
    assert data[CSRF_KEY] and len(data[CSRF_KEY]) >= 32
    clock.now += 50
    assert store.load(sid) is data
    clock.now += 50  # 50 s since the last use: still alive
    assert store.load(sid) is data
    clock.now += 61
    assert store.load(sid) is None
    assert store.load("made-up") is None


def test_the_least_recently_used_sessions_go_first_beyond_the_limit() -> None:
    store = SessionStore(idle_s=60, max_sessions=10)
    first, _ = store.create()
    second, _ = store.create()
    store.load(first)
    for _ in range(9):
        store.create()
    assert store.load(second) is None and store.load(first) is not None and len(store) == 10


def test_a_flood_of_requests_without_a_cookie_does_not_log_anyone_out() -> None:
    store = SessionStore(idle_s=60, max_sessions=10)
    signed_in = [store.create() for _ in range(3)]
    for _, data in signed_in:
        data[USER_KEY] = {"sub": "u"}
    for _ in range(1000):  # each request without a cookie makes a session
        store.create()
    assert all(store.load(sid) is not None for sid, _ in signed_in) and len(store) == 10
    for _ in range(10):  # all signed in: the least recently used goes, never the new one
        _, data = store.create()
        data[USER_KEY] = {"sub": "u"}
    assert all(store.load(sid) is None for sid, _ in signed_in) and len(store) == 10


def test_each_session_has_its_own_csrf_token() -> None:
    store = SessionStore(idle_s=60, max_sessions=10)
    assert store.create()[1][CSRF_KEY] != store.create()[1][CSRF_KEY]


def test_login_returns_only_to_paths_on_this_site() -> None:
    assert safe_next("/applicant/inbox?x=1") == "/applicant/inbox?x=1"
    for hostile in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None, "javascript:alert(1)"):
        assert safe_next(hostile) == "/"


def test_the_user_is_read_from_the_providers_claims() -> None:
    user = User.from_claims({"sub": "p1", "name": "张伟", "realm_access": {"roles": ["offline_access", "applicant"]},
                             "organisation": "91420111MA00000007", "scope": "openid profile"})
    assert (user.role.value, user.organisation, user.name) == ("applicant", "91420111MA00000007", "张伟")
    legacy = User.from_claims({"sub": "applicant:X", "role": "applicant", "scope": "91420111MA00000007"})
    assert legacy.organisation == "91420111MA00000007"
    for claims in ({"sub": "p", "realm_access": {"roles": ["applicant", "expert"]}, "organisation": "E1"},
                   {"sub": "p", "realm_access": {"roles": ["applicant"]}, "scope": "openid profile"}):
        with pytest.raises(ValueError, match="zhongshi role"):
            User.from_claims(claims)

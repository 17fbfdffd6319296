"""A psql stand-in for the PostgreSQL modules' unit tests, and the check that the password reached it only in a
libpq password file (never PGPASSWORD: other processes read /proc/<pid>/environ)."""
import os
import stat

PASSWORD = "s3cr3t-Pa55'word"


def passfile_seen(env):
    """What psql finds in PGPASSFILE while it runs: (mode, content, path), None without one."""
    path = (env or {}).get("PGPASSFILE")
    if not path:
        return None
    with open(path) as f:
        return stat.S_IMODE(os.stat(path).st_mode), f.read(), path


def assert_password_only_in_a_passfile(call):
    """A 0600 libpq password file holding PASSWORD, gone after the call; nothing of it in the environment."""
    assert "PGPASSWORD" not in call["env"] and PASSWORD not in "".join(call["env"].values())
    mode, content, path = call["passfile"]
    assert mode == 0o600 and content == "*:*:*:*:%s\n" % PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
    assert not os.path.exists(path)


class FakePsql(object):
    """Answers each call with the first (substring, (rc, out, err)) whose substring is in the SQL."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, argv, environ_update=None, data=None, **kwargs):
        self.calls.append(dict(argv=argv, env=environ_update, sql=data, passfile=passfile_seen(environ_update)))
        for needle, answer in self.answers:
            if needle in data:
                return answer
        raise AssertionError("unexpected SQL: %s" % data)

    @property
    def sql(self):
        return [c["sql"] for c in self.calls]

"""One vocabulary across the modules (docs/module-vocabulary.md), checked on every module so the rule cannot rot.

Loads each module's real ``argument_spec`` (captured where ``main()`` builds its AnsibleModule), its
``DOCUMENTATION`` with the collection's doc fragments, and ``RETURN``, plus the tables of the doc page, and fails
when a module:

- has a "fail on a bad verdict" switch not named ``fail_on_problem``, or that switch with the wrong default;
- keeps a former name of the switch or the verdict (dropped before 0.1.0, the first release: no deprecation);
- returns a verdict not named ``passed``, or judges (returns ``passed`` or ``findings``) without both, ``findings``
  being the one key for what is wrong (never ``problems``, ``reasons``, ``failed_checks``, nor ``reason`` in a
  judging module);
- has a timeout option other than ``timeout`` (the whole call) or the per-unit names, or a ``timeout`` not
  documented as the deadline of the whole call;
- has a duration that is not a number of seconds of ``type: float`` (``connect_timeout`` excepted: an int, as
  libpq and community.postgresql take it), or a name carrying another unit outside the listed exceptions;
- has a percent threshold not named ``*_percent`` or not of ``type: float``;
- has a secret option without its environment variable (read as a fallback and named in its description);
- is read-only without the ``_info`` suffix and without saying why, or is missing from the doc's module table.

The run-time behaviour (aliases work, old keys equal the new one, fallbacks are read) is in
tests/unit/plugins/modules/test_vocabulary_modules.py.
"""
import importlib
import os
import re

import pytest
import yaml

from ansible.module_utils import basic
from ansible.module_utils.basic import env_fallback
from ansible.module_utils.testing import patch_module_args

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES_DIR = os.path.join(ROOT, "plugins", "modules")
DOC = os.path.join(ROOT, "docs", "module-vocabulary.md")
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and not name.startswith("_"))

SWITCH = "fail_on_problem"
VERDICT = "passed"
FINDINGS = "findings"
WRONG_SPELLINGS = {"problems", "reasons", "failed_checks", "issues", "errors_found"}
# Not a result key of a judging module either: what is wrong is in findings. (release_info's ``reason`` says why
# a deploy or rollback is or is not needed: a plan's explanation, and release_info judges nothing.)
WRONG_IN_A_VERDICT = {"reason", "error_reason"}
# An age threshold in seconds ("pending for longer than", "idle in transaction for longer than") is older_than.
AGE = "older_than"
AGE_SPELLINGS = {"stuck_after", "min_age", "age_threshold", "older_than_seconds", "max_age_seconds"}
CHECK_ACTIONS = {"health_check", "backup_verify", "platform_contract"}  # the only modules whose switch defaults to true
# Former names: switches (options) and verdict keys (RETURN), dropped before the first release.
OLD_SWITCHES = {"fail_on_unhealthy", "fail_below_threshold", "fail_on_invalid", "fail_on_error"}
OLD_VERDICTS = {"healthy", "below_threshold", "authenticated"}
# Other spellings of a verdict that must not appear as a top-level result key.
VERDICT_LIKE = OLD_VERDICTS | {"ok", "success", "successful", "valid", "is_healthy", "verdict", "all_passed", "good"}
UNIT_TIMEOUTS = {"request_timeout", "command_timeout", "connect_timeout"}
DEPRECATION = {"version": "2.0.0", "collection_name": "tgops.runbooks"}

# A duration is a number of seconds of type float (0.5 is a fair interval, and a float takes every int a user
# writes), named for what it bounds, never for its unit. These names are durations whatever their description.
DURATION_NAMES = {"timeout", "interval", "max_retry_wait", "older_than", "failed_since", "ttl"}
DURATION_SUFFIXES = ("_timeout", "_age", "_wait", "_interval")
# The one int: libpq's connect_timeout takes whole seconds, and community.postgresql's option is an int.
INT_SECONDS = {"connect_timeout"}
UNIT_SUFFIXES = ("_seconds", "_secs", "_sec", "_s", "_ms", "_minutes", "_mins", "_hours", "_days", "_weeks")
# Durations in another unit or form, each for its reason; nothing else may join this list.
OTHER_UNITS = {
    ("platform_info", "log_since"): "text in docker logs --since syntax, passed to docker as it is",
    ("backup_verify", "max_age"): "raw: seconds, or a string with units (26h, 7d)",
    ("platform_info", "backup_max_age_hours"): "hours (the triage and checks roles pass it by this name)",
    ("postgres_activity_info", "slow_query_mean_ms"): "milliseconds, as pg_stat_statements reports a mean",
    ("backup_retention", "keep_days"): "calendar days of a retention policy",
    ("backup_verify", "retention.keep_days"): "calendar days of a retention policy",
}
# A percent threshold is named *_percent and is a float from 0 to 100: 0.5 is a fair threshold.
PERCENT = "_percent"

# Every no_log option: the environment variable it reads, or why it has none. ``how`` is ``fallback`` (an
# argument_spec env_fallback), ``module`` (the module reads it, see _pinata_auth.env_credentials) or
# ``libpq`` (the client library reads it when the option is empty).
SECRET_ENV = {
    ("telegram_bot_info", "bot_token"): ("TELEGRAM_BOT_TOKEN", "fallback"),
    ("telegram_webhook", "bot_token"): ("TELEGRAM_BOT_TOKEN", "fallback"),
    ("telegram_webhook", "secret_token"): ("TELEGRAM_WEBHOOK_SECRET", "fallback"),
    ("ton_wallet_info", "api_key"): ("TONCENTER_API_KEY", "fallback"),
    ("pinata_auth_info", "jwt"): ("PINATA_JWT", "module"),
    ("pinata_auth_info", "api_key"): ("PINATA_API_KEY", "module"),
    ("pinata_auth_info", "api_secret"): ("PINATA_SECRET_KEY", "module"),
    ("platform_info", "database.password"): ("PGPASSWORD", "fallback"),
    ("incident_notify", "bot_token"): ("TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN", "fallback"),
    ("incident_notify", "slack_webhook_url"): ("TGOPS_NOTIFY_SLACK_WEBHOOK_URL", "fallback"),
    ("pg_backup", "hmac_key"): ("TGOPS_BACKUP_HMAC_KEY", "fallback"),
    ("pg_backup_restore", "hmac_key"): ("TGOPS_BACKUP_HMAC_KEY", "fallback"),
}
PG_PASSWORD = ("login_password", ("PGPASSWORD", "libpq"))  # every module with the PostgreSQL connection options
MANY_VALUES = {"values", "new_values", "current_values", "headers", "redact"}  # no single conventional variable


class _Captured(BaseException):
    """Raised from AnsibleModule.__init__ to take the spec; BaseException so no module's except catches it."""

    def __init__(self, kwargs):
        super(_Captured, self).__init__("captured")
        self.kwargs = kwargs


def module_spec(name):
    module = importlib.import_module("ansible_collections.tgops.runbooks.plugins.modules.%s" % name)

    def capture(self, *args, **kwargs):
        if args:
            kwargs["argument_spec"] = args[0]
        raise _Captured(kwargs)

    original = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = capture
    try:
        with patch_module_args({}):
            module.main()
    except _Captured as exc:
        return module, exc.kwargs["argument_spec"]
    finally:
        basic.AnsibleModule.__init__ = original
    raise AssertionError("%s: main() built no AnsibleModule" % name)


def _fragment(ref):
    """DOCUMENTATION of a doc fragment reference such as tgops.runbooks._attributes.info_module."""
    parts = ref.split(".")
    assert parts[:2] == ["tgops", "runbooks"], "unexpected fragment %s" % ref
    frag = importlib.import_module("ansible_collections.tgops.runbooks.plugins.doc_fragments.%s" % parts[2])
    return yaml.safe_load(getattr(frag.ModuleDocFragment, parts[3].upper() if len(parts) > 3 else "DOCUMENTATION"))


def module_docs(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = dict(doc.get("options") or {})
    notes = list(doc.get("notes") or [])
    for ref in doc.get("extends_documentation_fragment") or []:
        frag = _fragment(ref) or {}
        for key, value in (frag.get("options") or {}).items():
            options.setdefault(key, value)
        notes.extend(frag.get("notes") or [])
    doc["options"], doc["notes"] = options, notes
    return doc, yaml.safe_load(module.RETURN) or {}


def _text(value):
    return " ".join(value) if isinstance(value, list) else str(value or "")


def walk(spec, docs, prefix=""):
    """(dotted name, spec entry, doc entry) for every option and sub-option."""
    for key, entry in spec.items():
        doc = (docs or {}).get(key) or {}
        yield prefix + key, entry, doc
        if entry.get("options"):
            yield from walk(entry["options"], doc.get("suboptions"), prefix + key + ".")


@pytest.fixture(scope="module", params=MODULES)
def loaded(request):
    module, spec = module_spec(request.param)
    doc, ret = module_docs(module)
    return request.param, spec, doc, ret


def doc_table(heading):
    """Rows of the first table under ``## heading`` in docs/module-vocabulary.md, as lists of cells."""
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    section = text.split("## %s\n" % heading, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows[2:]]


def test_every_module_is_loaded():
    assert len(MODULES) >= 20 and "health_check" in MODULES


def test_fail_switch(loaded):
    name, spec, doc, ret = loaded
    for option, entry, dummy in walk(spec, doc["options"]):
        assert not (option.startswith("fail_") and option != SWITCH), (
            "%s: option %s - the fail-on-a-bad-verdict switch is named %s" % (name, option, SWITCH))
        assert option not in OLD_SWITCHES
    if SWITCH not in spec:
        return
    entry = spec[SWITCH]
    assert entry.get("type") == "bool"
    want = name in CHECK_ACTIONS
    assert entry.get("default") is want, "%s: %s defaults to %s (rule: true only in check actions)" % (
        name, SWITCH, want)
    assert VERDICT in ret, "%s has %s but returns no %s" % (name, SWITCH, VERDICT)


def test_an_age_threshold_is_older_than(loaded):
    name, spec, doc, ret = loaded
    for option, entry, opt_doc in walk(spec, doc["options"]):
        assert option.rsplit(".", 1)[-1] not in AGE_SPELLINGS, "%s: %s - an age threshold is named %s" % (
            name, option, AGE)
        leaf = option.rsplit(".", 1)[-1]
        if "age" in leaf.split("_") and (name, option) not in OTHER_UNITS:
            assert leaf.endswith("_age"), "%s: %s - an age threshold is %s, or <what>_age among several" % (
                name, option, AGE)


def test_former_names_are_gone(loaded):
    name, spec, doc, ret = loaded
    for option, entry, opt_doc in walk(spec, doc["options"]):
        old = set(entry.get("aliases") or []) & OLD_SWITCHES
        assert not old, "%s: %s keeps its former name(s) %s" % (name, option, ", ".join(sorted(old)))
        assert not set(opt_doc.get("aliases") or []) & OLD_SWITCHES
    assert not set(ret) & OLD_VERDICTS, "%s returns a former verdict key" % name


def test_verdict_key(loaded):
    name, spec, doc, ret = loaded
    assert not set(ret) & VERDICT_LIKE, "%s returns %s: the verdict key is %s" % (
        name, ", ".join(sorted(set(ret) & VERDICT_LIKE)), VERDICT)
    if VERDICT in ret:
        assert ret[VERDICT]["type"] == "bool"
        assert FINDINGS in ret and ret[FINDINGS]["type"] == "list" and ret[FINDINGS].get("elements") == "str", (
            "%s judges (returns %s) but does not say what is wrong in %s" % (name, VERDICT, FINDINGS))
    assert not set(ret) & WRONG_SPELLINGS, "%s returns %s: what is wrong is %s" % (
        name, ", ".join(sorted(set(ret) & WRONG_SPELLINGS)), FINDINGS)


def test_every_judging_module_returns_passed_and_findings(loaded):
    name, spec, doc, ret = loaded
    if FINDINGS in ret or VERDICT in ret:
        assert VERDICT in ret and FINDINGS in ret, "%s judges but returns %s without %s" % (
            name, FINDINGS if FINDINGS in ret else VERDICT, VERDICT if FINDINGS in ret else FINDINGS)
        assert ret[VERDICT]["type"] == "bool"
        assert not set(ret) & WRONG_IN_A_VERDICT, "%s judges and returns %s: what is wrong is %s" % (
            name, ", ".join(sorted(set(ret) & WRONG_IN_A_VERDICT)), FINDINGS)


def test_timeouts(loaded):
    name, spec, doc, ret = loaded
    options = dict((option, (entry, opt_doc)) for option, entry, opt_doc in walk(spec, doc["options"]))
    for option, (entry, opt_doc) in options.items():
        leaf = option.rsplit(".", 1)[-1]
        if "timeout" not in leaf:
            continue
        assert leaf == "timeout" or leaf in UNIT_TIMEOUTS, "%s: %s is not a vocabulary timeout name" % (name, option)
        if leaf == "timeout":
            assert re.search(r"deadline\b.*\bwhole (call|module call|run)", _text(opt_doc.get("description")), re.I), (
                "%s: timeout must be documented as the deadline of the whole call" % name)
    if "request_timeout" in options:
        assert "timeout" in options, "%s: request_timeout without an overall timeout" % name


def _is_duration(leaf, entry, opt_doc):
    if leaf in DURATION_NAMES or leaf in INT_SECONDS or leaf.endswith(DURATION_SUFFIXES):
        return True
    return entry.get("type") in ("int", "float") and bool(re.search(r"\bseconds\b", _text(opt_doc.get("description"))))


def test_a_duration_is_seconds_as_a_float(loaded):
    name, spec, doc, ret = loaded
    for option, entry, opt_doc in walk(spec, doc["options"]):
        leaf = option.rsplit(".", 1)[-1]
        if (name, option) in OTHER_UNITS:
            continue
        assert not leaf.endswith(UNIT_SUFFIXES), "%s: %s is named for its unit; a duration is seconds, unnamed" % (
            name, option)
        if not _is_duration(leaf, entry, opt_doc):
            continue
        want = "int" if leaf in INT_SECONDS else "float"
        assert entry.get("type") == want and opt_doc.get("type") == want, (
            "%s: %s is a duration in seconds: type %s (spec %s, documented %s)" % (
                name, option, want, entry.get("type"), opt_doc.get("type")))


def test_timeout_has_one_type_in_every_module():
    kinds = {}
    for name in MODULES:
        module, spec = module_spec(name)
        for option, entry, dummy in walk(spec, {}):
            if option.rsplit(".", 1)[-1] in ("timeout", "request_timeout", "command_timeout"):
                kinds.setdefault(entry.get("type"), []).append("%s.%s" % (name, option))
    assert set(kinds) == {"float"}, kinds


def test_a_percent_threshold_is_a_float_named_percent(loaded):
    name, spec, doc, ret = loaded
    for option, entry, opt_doc in walk(spec, doc["options"]):
        leaf = option.rsplit(".", 1)[-1]
        text = _text(opt_doc.get("description"))
        if not ("percent" in leaf or "pct" in leaf or (
                entry.get("type") in ("int", "float") and re.search(r"\bper ?cent\b|%", text))):
            continue
        assert leaf.endswith(PERCENT), "%s: %s is a percent threshold: named *%s" % (name, option, PERCENT)
        assert entry.get("type") == "float" and opt_doc.get("type") == "float", (
            "%s: %s is a percent threshold: type float" % (name, option))


def test_secret_options_read_their_environment_variable(loaded):
    name, spec, doc, ret = loaded
    for option, entry, opt_doc in walk(spec, doc["options"]):
        if not entry.get("no_log"):
            continue
        if option.rsplit(".", 1)[-1] in MANY_VALUES:
            assert entry.get("type") in ("dict", "list"), "%s: %s holds one value, give it a variable" % (
                name, option)
            continue
        if option == PG_PASSWORD[0]:
            variable, how = PG_PASSWORD[1]
            fallback = entry.get("fallback")
            assert fallback is None or fallback == (env_fallback, [variable])
            continue
        assert (name, option) in SECRET_ENV, "%s: secret option %s has no environment variable in the table" % (
            name, option)
        variable, how = SECRET_ENV[(name, option)]
        if how == "fallback":
            assert entry.get("fallback") == (env_fallback, [variable]), "%s: %s must fall back to %s" % (
                name, option, variable)
        else:
            assert entry.get("fallback") is None
        assert "E(%s)" % variable in _text(opt_doc.get("description")), (
            "%s: the description of %s must name E(%s)" % (name, option, variable))


def test_secret_table_in_the_doc_matches():
    rows = doc_table("Secret options and their environment variables")
    in_doc = set()
    for modules, option, variable in rows:
        for module in re.findall(r"[a-z_]+", modules.replace("the PostgreSQL modules", "")):
            in_doc.add((module, option, variable))
    in_test = set((module, option, variable) for (module, option), (variable, dummy) in SECRET_ENV.items())
    assert in_test <= in_doc and len([r for r in rows if r[1] == "login_password"]) == 1
    assert (in_doc - in_test) == set()


def test_module_names(loaded):
    name, spec, doc, ret = loaded
    kinds = dict((row[0], row[1]) for row in doc_table("Module names"))
    assert name in kinds, "%s is missing from the module table of docs/module-vocabulary.md" % name
    kind = kinds[name]
    assert kind in ("changes", "info", "check", "plan")
    assert (kind == "info") == name.endswith("_info"), "%s: read-only modules end in _info, others do not" % name
    if kind in ("check", "plan"):
        assert any("Not named C(%s_info)" % name in _text(note) for note in doc["notes"]), (
            "%s changes nothing but is not named _info: its notes must say why" % name)
    if kind == "check":
        assert spec.get(SWITCH, {}).get("default") is True


def test_module_table_lists_only_modules():
    assert sorted(row[0] for row in doc_table("Module names")) == MODULES


def test_the_words_table_names_the_vocabulary():
    rows = doc_table("The words")
    names = " ".join(row[1] for row in rows)
    for word in (SWITCH, VERDICT, "timeout") + tuple(sorted(UNIT_TIMEOUTS)):
        assert "%s" % word in names
    former = " ".join(row[4] for row in rows)
    for word in OLD_SWITCHES | OLD_VERDICTS:
        assert word in former
    # The duration and threshold conventions, with every exception named where they are stated.
    ideas = dict((row[0], row) for row in rows)
    assert "float, seconds" in ideas["a duration"][2] and "float, percent" in ideas["a percent threshold"][2]
    assert "float" in ideas["how long the call may take"][2] and "float" in ideas["how old is too old"][2]
    stated = ideas["a duration"][3]
    for module, option in OTHER_UNITS:
        assert module in stated and option.rsplit(".", 1)[-1] in stated, "%s %s" % (module, option)
    assert "failed_checks" in ideas["what is wrong"][4] and "reason" in ideas["what is wrong"][4]

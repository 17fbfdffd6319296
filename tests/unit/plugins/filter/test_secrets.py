"""platform_secret_values: every secret of the platform from one registry, for the roles' redaction lists."""
import pytest

from ansible.errors import AnsibleFilterError, AnsibleUndefinedVariable

from ansible_collections.tgops.runbooks.plugins.filter.secrets import platform_secret_values

SECRETS = {
    "db_password": {"env": "POSTGRES_PASSWORD", "vault": "vault_t_postgres_password", "lab": "postgres_password"},
    "secret_key": {"env": "SECRET_KEY", "vault": "vault_t_secret_key"},
    "stripe_key": {"env": "STRIPE_API_KEY", "vault": "vault_t_stripe_api_key"},
}


class Unresolvable(dict):
    """Host variables whose template names an undefined variable, as hostvars raises for it."""

    def __getitem__(self, name):
        if name == "platform_backup_hmac_key":
            raise AnsibleUndefinedVariable("'vault_backup_hmac_key' is undefined")
        return super().__getitem__(name)


def test_vault_variables_of_the_registry_and_the_other_platform_secrets():
    variables = {
        "platform_secrets": SECRETS,
        "vault_t_postgres_password": "pg-pass-1", "vault_t_secret_key": "django-secret-2",
        "vault_t_stripe_api_key": "sk_live_3", "platform_db_password": "pg-pass-1",
        "platform_backup_s3_access_key": "AKIA4", "platform_backup_s3_secret_key": "s3-secret-5",
        "platform_backup_hmac_key": "hmac-6", "platform_redact": ["extra-7", ""], "unrelated": "not-a-secret",
    }
    assert platform_secret_values(variables) == [
        "pg-pass-1", "django-secret-2", "sk_live_3", "AKIA4", "s3-secret-5", "hmac-6", "extra-7"]


def test_undefined_empty_and_unresolvable_values_are_left_out():
    variables = Unresolvable(platform_secrets=SECRETS, vault_t_secret_key="django-secret", vault_t_stripe_api_key="",
                             platform_backup_hmac_key="{{ vault_backup_hmac_key }}", platform_bot_token=None,
                             platform_redact=None)
    assert platform_secret_values(variables) == ["django-secret"]


def test_numbers_are_masked_as_text_and_booleans_never():
    assert platform_secret_values({"platform_db_password": 12345678, "platform_bot_token": True}) == ["12345678"]


def test_no_registry_gives_the_other_platform_secrets():
    assert platform_secret_values({"platform_backup_s3_secret_key": "s3"}) == ["s3"]
    assert platform_secret_values({"platform_secrets": None, "platform_backup_s3_secret_key": "s3"}) == ["s3"]


def test_registry_names_and_extra_can_be_chosen():
    variables = {"my_key": "k1", "my_list": ["k2"], "platform_db_password": "pw", "reg": {"a": {"vault": "v"}},
                 "v": "k0", "platform_secrets": SECRETS, "vault_t_secret_key": "not-this-one"}
    assert platform_secret_values(variables, registry="reg", names=["my_key"], extra="my_list") == ["k0", "k1", "k2"]


@pytest.mark.parametrize("variables, words", [
    ({"platform_secrets": ["SECRET_KEY"]}, "platform_secrets must be a dict"),
    ({"platform_secrets": {"secret_key": "vault_x"}}, "platform_secrets.secret_key must be a dict"),
    ({"platform_secrets": {"secret_key": {"env": "SECRET_KEY"}}}, "platform_secrets.secret_key must be a dict"),
    (["x"], "hostvars[inventory_hostname]"),
])
def test_bad_input_is_named(variables, words):
    with pytest.raises(AnsibleFilterError, match=words.replace("[", r"\[").replace("]", r"\]")):
        platform_secret_values(variables)


def test_no_value_in_an_error():
    with pytest.raises(AnsibleFilterError) as caught:
        platform_secret_values({"platform_secrets": {"k": {"vault": 7}}, "vault_a": "the-secret-value"})
    assert "the-secret-value" not in str(caught.value)

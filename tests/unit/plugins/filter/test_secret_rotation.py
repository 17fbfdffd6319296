"""secret_rotation_vault_refusal: where a rotation's new values would be stored, judged before anything switches."""
import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.secret_rotation import secret_rotation_vault_refusal


@pytest.fixture
def checkout(tmp_path):
    project = tmp_path / "project"
    (project / "inventories").mkdir(parents=True)
    vault = project / "inventories" / "vault.yml"
    vault.write_text("x")
    outside = tmp_path / "secrets" / "vault.yml"
    outside.parent.mkdir()
    outside.write_text("x")
    return project, vault, outside


def test_no_vault_file_is_refused_on_any_controller():
    for on_awx in (False, True):
        assert secret_rotation_vault_refusal({"vault_file": "", "project_dir": "/p", "on_awx": on_awx}) == (
            "No vault file to store the new values in: secret_rotation_vault_file (the inventory's "
            "platform_secrets_vault_file) is empty.")


def test_a_vault_in_the_checkout_is_refused_on_awx_only(checkout):
    project, vault = checkout[:2]
    data = {"vault_file": str(vault), "project_dir": str(project), "on_awx": True}
    assert secret_rotation_vault_refusal(data) == (
        "The vault file %s is inside the project checkout, which AWX discards after the job (awx_job_id is set)."
        % os.path.realpath(str(vault)))
    assert secret_rotation_vault_refusal(dict(data, on_awx=False)) == ""


def test_a_vault_outside_the_checkout_will_do_on_awx(checkout, tmp_path):
    project, outside = checkout[0], checkout[2]
    assert secret_rotation_vault_refusal({"vault_file": str(outside), "project_dir": str(project),
                                          "on_awx": True}) == ""
    # a sibling whose name starts with the checkout's is not inside it
    sibling = tmp_path / "project-vault.yml"
    sibling.write_text("x")
    assert secret_rotation_vault_refusal({"vault_file": str(sibling), "project_dir": str(project),
                                          "on_awx": True}) == ""


def test_a_link_into_the_checkout_is_inside_it(checkout, tmp_path):
    project, vault = checkout[:2]
    link = tmp_path / "link.yml"
    link.symlink_to(vault)
    assert "is inside the project checkout" in secret_rotation_vault_refusal(
        {"vault_file": str(link), "project_dir": str(project), "on_awx": True})


@pytest.mark.parametrize("bad, words", [
    ("x", "expects a dict"),
    ({"vault_file": None, "project_dir": "/p"}, "vault_file must be a string, got NoneType"),
    ({"vault_file": "v.yml"}, "project_dir must be a string"),
])
def test_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        secret_rotation_vault_refusal(bad)

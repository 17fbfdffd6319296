"""Create the lab's local state once: SSH key, vault password, lab CA and server certificates, random
secrets, and the generated inventory (hosts, lab URLs, encrypted vault). Nothing here is committed.

Idempotent: existing files are kept, so secrets stay stable across `make lab` runs until `make lab-clean`.
"""
import hashlib
import json
import os
import secrets
import string
import subprocess
import sys

import yaml  # lab/state.py runs with the venv's Python (ansible brings PyYAML)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE = os.path.join(ROOT, ".lab")
INV = os.path.join(ROOT, "inventories", "lab")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")

HOSTS = {
    # inventory name: (group, ssh port, public name)
    "tgquiz-lab": ("tgquiz", 2221, "tgquiz.lab"),
    "toogoodtogo-lab": ("toogoodtogo", 2222, "toogoodtogo.lab"),
}
EMULATORS = {"telegram": 18081, "toncenter": 18082, "pinata": 18083, "stripe": 18084}
S3 = {"lab_s3_endpoint_url": "http://127.0.0.1:19000", "lab_s3_bucket": "tgops-lab-backups",
      "lab_s3_region": "us-east-1"}


# ansible.cfg names no vault password file (an AWX checkout has none): the lab's is given here.
VAULT_ENV = dict(os.environ, ANSIBLE_VAULT_PASSWORD_FILE=os.path.join(STATE, "vault-pass"))


def run(argv, **kw):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kw)


def write(path, text, mode=0o600):
    """Write atomically, and only what changed: `make test` reads these files from other jobs while it runs."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                os.chmod(path, mode)
                return
    except FileNotFoundError:
        pass
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def token(n, alphabet=string.ascii_letters + string.digits):
    return "".join(secrets.choice(alphabet) for _i in range(n))


def bot_token():
    # The commonly seen real shape: 8-10 digit id, ':' and 35 chars of [A-Za-z0-9_-].
    bot_id = str(secrets.randbelow(9 * 10 ** 9) + 10 ** 9)
    return bot_id + ":" + token(35, string.ascii_letters + string.digits + "_-")


def ssh_key():
    key = os.path.join(STATE, "ssh", "id_ed25519")
    if not os.path.exists(key):
        os.makedirs(os.path.dirname(key), mode=0o700, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tgops-lab", "-f", key])
    return key


def ca_and_certs():
    ca_dir = os.path.join(STATE, "ca")
    os.makedirs(ca_dir, mode=0o700, exist_ok=True)
    ca_key, ca_crt = os.path.join(ca_dir, "ca.key"), os.path.join(ca_dir, "ca.crt")
    if not os.path.exists(ca_crt):
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
             "-days", "3650", "-subj", "/CN=tgops lab CA"], stderr=subprocess.DEVNULL)
    for _group, _port, name in HOSTS.values():
        crt = os.path.join(ca_dir, name + ".crt")
        if os.path.exists(crt):
            continue
        key, csr, ext = (os.path.join(ca_dir, name + s) for s in (".key", ".csr", ".ext"))
        write(ext, "subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\n" % name)
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
             "-subj", "/CN=" + name], stderr=subprocess.DEVNULL)
        # 90 days, like Let's Encrypt, so expiry checks have something real to read.
        run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
             "-out", crt, "-days", "90", "-extfile", ext], stderr=subprocess.DEVNULL)
        os.remove(csr)


def s3_credentials():
    # The shapes AWS uses: a 20-character key id starting AKIA, a 40-character secret.
    return {"access_key": "AKIA" + token(16, string.ascii_uppercase + string.digits),
            "secret_key": token(40, string.ascii_letters + string.digits + "/+")}


def backup_keys():
    # vault_backup_hmac_key: the HMAC-SHA256 key that proves an off-site backup was uploaded by the backup role.
    return {"hmac_key": secrets.token_urlsafe(48)}


def lab_secrets():
    path = os.path.join(STATE, "secrets.json")
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
        missing = {"s3": s3_credentials, "backup": backup_keys}  # state made before the lab had these
        if set(missing) - set(data):
            for name in set(missing) - set(data):
                data[name] = missing[name]()
            write(path, json.dumps(data, indent=2) + "\n")
        return data
    data = {}
    for platform in ("tgquiz", "toogoodtogo"):
        data[platform] = {
            "bot_token": bot_token(),
            "postgres_password": token(32),
            "secret_key": secrets.token_hex(32),
            "webhook_secret": token(48, string.ascii_letters + string.digits + "_-"),
        }
    data["tgquiz"].update({
        "toncenter_api_key": secrets.token_hex(32),
        "pinata_api_key": secrets.token_hex(10),
        "pinata_secret_key": secrets.token_hex(32),
        "ton_wallet_address": "0:" + secrets.token_hex(32),
    })
    data["toogoodtogo"]["stripe_api_key"] = "sk_test_" + token(24)
    data["s3"] = s3_credentials()
    data["backup"] = backup_keys()
    write(path, json.dumps(data, indent=2) + "\n")
    return data


def inventory(key, data):
    hosts = {}
    for name, (group, port, _public) in HOSTS.items():
        hosts.setdefault(group, {"hosts": {}})["hosts"][name] = {"ansible_host": "127.0.0.1", "ansible_port": port}
    # Host keys are checked everywhere but here (ansible.cfg checks them): a lab server makes new host keys
    # (ssh-keygen -A) whenever its container is created, and it is a container on this machine reached on
    # 127.0.0.1, so the lab alone skips the check and keeps its throw-away keys out of ~/.ssh/known_hosts.
    # Both settings: ansible_host_key_checking is what the ssh plugin reads (it wins over ANSIBLE_HOST_KEY_CHECKING),
    # the arguments also keep the keys out of known_hosts.
    doc = {"all": {"vars": {"ansible_user": "root", "ansible_ssh_private_key_file": key,
                            "ansible_python_interpreter": "/usr/bin/python3",
                            "ansible_host_key_checking": False,
                            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"},
                   "children": hosts}}
    # JSON is valid YAML: no YAML library needed outside the venv.
    write(os.path.join(INV, "hosts.yml"), "# Generated by lab/state.py; not committed.\n" + json.dumps(doc, indent=2) + "\n", 0o644)
    lab = {"lab_%s_api_url" % name: "http://127.0.0.1:%d" % port for name, port in EMULATORS.items()}
    lab["lab_ca_path"] = os.path.join(STATE, "ca", "ca.crt")
    lab["lab_state_dir"] = STATE
    lab.update(S3)
    # The compose stacks' interpolation variables (lab/provision.yml writes them to the project's .env). `make test`
    # sets TGOPS_LAB_PROFILE=test: Docker's health probes every 2 s, so that what waits for a container's health
    # (`up --wait`, the roles) learns it within 2 s of a start, not 5-10 s. This engine has no start_interval.
    # Any other profile keeps the stacks' own defaults, as a user's stack has them (make demo, make bench).
    profile = os.environ.get("TGOPS_LAB_PROFILE", "default")
    if profile not in ("default", "test"):
        sys.exit("TGOPS_LAB_PROFILE must be default or test, not %r" % profile)
    lab["lab_profile"] = profile
    lab["lab_compose_env"] = {"HEALTHCHECK_INTERVAL": "2s"} if profile == "test" else {}
    write(os.path.join(INV, "group_vars", "all", "lab.yml"),
          "# Generated by lab/state.py; not committed.\n" + json.dumps(lab, indent=2) + "\n", 0o644)

    # vault_<platform>_<name>, vault_s3_access_key / vault_s3_secret_key and vault_backup_hmac_key.
    vault = {"vault_%s_%s" % (platform, k): v for platform, values in data.items() for k, v in values.items()}
    vault_path = os.path.join(INV, "group_vars", "all", "vault.yml")
    # Which names the vault holds, so that a lab made before a secret was added gets it (and only it:
    # values already in the vault, e.g. rotated by a playbook, are kept).
    names_path = os.path.join(STATE, "vault-names.sha256")
    names = hashlib.sha256(" ".join(sorted(vault)).encode("utf-8")).hexdigest()
    if os.path.exists(vault_path):
        if os.path.exists(names_path) and open(names_path).read().strip() == names:
            return
        current = yaml.safe_load(subprocess.run([os.path.join(VENV_BIN, "ansible-vault"), "view", vault_path],
                                                cwd=ROOT, env=VAULT_ENV, check=True, capture_output=True,
                                                text=True).stdout) or {}
        missing = set(vault) - set(current)
        vault = dict(current, **{k: vault[k] for k in missing})
        if not missing:
            write(names_path, names + "\n", 0o644)
            return
    # Encrypt a temporary file and move it into place, so no plain-text vault is ever left behind.
    tmp = vault_path + ".tmp"
    write(tmp, json.dumps(vault, indent=2) + "\n")
    try:
        run([os.path.join(VENV_BIN, "ansible-vault"), "encrypt", tmp], cwd=ROOT, env=VAULT_ENV)
        os.rename(tmp, vault_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    write(names_path, names + "\n", 0o644)


def main():
    os.makedirs(STATE, mode=0o700, exist_ok=True)
    vault_pass = os.path.join(STATE, "vault-pass")
    if not os.path.exists(vault_pass):
        write(vault_pass, secrets.token_urlsafe(32) + "\n")
    lab_id = os.path.join(STATE, "lab-id")
    if not os.path.exists(lab_id):
        # Names this lab's generation: lab/up.sh tears down a lab left by another checkout or state,
        # whose databases were initialised with other passwords.
        write(lab_id, secrets.token_hex(8) + "\n", 0o644)
    key = ssh_key()
    ca_and_certs()
    data = lab_secrets()
    inventory(key, data)
    print("[lab] state ready in %s" % STATE)


if __name__ == "__main__":
    sys.exit(main())

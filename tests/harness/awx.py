"""An AWX job without AWX: what AWX hands to ansible-runner, then ansible-runner for real.

AWX (awx/main/tasks/jobs.py, awx/main/models/credential.py) prepares a private data dir per job:
``project/`` (the SCM checkout; the job template names a playbook file in it), ``inventory/``,
``env/envvars`` (the credentials' injected environment plus AWX's own settings, e.g. the fact cache),
``env/extravars`` (job template extra vars; survey answers, launch-time vars and credential
``extra_vars`` injections are written with the ``!unsafe`` tag, so Ansible never templates them),
and one file per ``injectors.file`` template under ``env/``, whose path the other templates see as
``tower.filename.<name>`` (``tower.filename`` for a single ``template``). Templates render in a
sandboxed Jinja environment with the credential's inputs (string fields default to ""). Then
``ansible-runner run`` executes the playbook and leaves ``artifacts/<ident>/`` (stdout, job_events,
fact_cache).
"""
import glob
import json
import os
import stat
import subprocess
import sys
import tempfile

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.harness.tools import ROOT

CREDENTIAL_TYPES = os.path.join(ROOT, "docs", "awx")


class _UnsafeDumper(yaml.SafeDumper):
    """AWX's SafeStringDumper: every string (keys too) as ``!unsafe``."""

    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def extravars_text(safe, unsafe):
    """env/extravars as AWX writes it: ``safe`` (the job template's own vars) plain, the rest ``!unsafe``."""
    text = yaml.safe_dump(safe, default_flow_style=False) if safe else ""
    if unsafe:
        text += yaml.dump(unsafe, Dumper=_UnsafeDumper, default_flow_style=False)
    return text


def load_credential_type(name):
    """(inputs, injectors) of a shipped credential type: docs/awx/<name>_inputs.yml / <name>_injectors.yml."""
    with open(os.path.join(CREDENTIAL_TYPES, name + "_inputs.yml")) as f:
        inputs = yaml.safe_load(f)
    with open(os.path.join(CREDENTIAL_TYPES, name + "_injectors.yml")) as f:
        injectors = yaml.safe_load(f)
    return inputs, injectors


def inject(credential_type, values, private_data_dir):
    """Render a credential type's injectors as AWX's CredentialType.inject_credential does.

    Returns (env, extra_vars); files are written under private_data_dir/env, mode 0600.
    """
    inputs, injectors = credential_type
    missing = [k for k in inputs.get("required", []) if not values.get(k)]
    if missing:
        raise ValueError("credential inputs missing: %s" % missing)
    namespace = {f["id"]: False if f.get("type") == "boolean" else "" for f in inputs["fields"]}
    namespace.update(values)
    sandbox = ImmutableSandboxedEnvironment()
    filenames = {}
    for label, template in (injectors.get("file") or {}).items():
        fd, path = tempfile.mkstemp(dir=os.path.join(private_data_dir, "env"))
        with os.fdopen(fd, "w") as f:
            f.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        filenames[label.split(".", 1)[1]] = path
    if list(filenames) == ["template"]:
        tower = {"filename": filenames["template"]}
    else:
        tower = {"filename": filenames}
    namespace["tower"] = tower
    env = {k: sandbox.from_string(t).render(**namespace) for k, t in (injectors.get("env") or {}).items()}
    extra = {k: sandbox.from_string(t).render(**namespace) for k, t in (injectors.get("extra_vars") or {}).items()}
    return env, extra


class AwxJob:
    """One job: ``AwxJob(dir, playbook=...).run(...)`` -> self; then rc, stdout, events, artifact_texts()."""

    counter = [0]

    def __init__(self, private_data_dir, playbook, collections_path, inventory="localhost ansible_connection=local"):
        self.dir = str(private_data_dir)
        for d in ("project", "inventory", "env"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        AwxJob.counter[0] += 1
        self.ident = str(AwxJob.counter[0])
        self.playbook = "%s.yml" % playbook
        # The project holds a wrapper per collection playbook, as docs/awx.md section 3 shows.
        with open(os.path.join(self.dir, "project", self.playbook), "w") as f:
            f.write("---\n- name: %s\n  ansible.builtin.import_playbook: k0smotron.oci.%s\n" % (playbook, playbook))
        with open(os.path.join(self.dir, "inventory", "hosts"), "w") as f:
            f.write(inventory + "\n")
        self.collections_path = collections_path
        self.rc = None
        self.stdout = ""

    @property
    def artifacts(self):
        return os.path.join(self.dir, "artifacts", self.ident)

    def run(self, template_vars=None, survey=None, credentials=(), env=None, timeout=600):
        """Launch: template_vars are the job template's own extra vars (safe), survey the answers
        (unsafe); credentials a list of (credential type, input values)."""
        envvars = {
            "ANSIBLE_COLLECTIONS_PATH": self.collections_path,
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
            # use_fact_cache: AWX points the jsonfile cache into the job's artifacts.
            "ANSIBLE_CACHE_PLUGIN": "jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": os.path.join(self.artifacts, "fact_cache"),
            "JOB_ID": self.ident,
        }
        envvars.update(env or {})
        unsafe = dict(survey or {})
        for ctype, values in credentials:
            cred_env, cred_extra = inject(ctype, values, self.dir)
            envvars.update(cred_env)
            unsafe.update(cred_extra)
        with open(os.path.join(self.dir, "env", "envvars"), "w") as f:
            yaml.safe_dump(envvars, f)
        with open(os.path.join(self.dir, "env", "extravars"), "w") as f:
            f.write(extravars_text(template_vars or {}, unsafe))
        runner = os.path.join(os.path.dirname(sys.executable), "ansible-runner")
        path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        proc = subprocess.run([runner, "run", self.dir, "-p", self.playbook, "--ident", self.ident],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                              env=dict(os.environ, PATH=path), check=False)
        self.rc = proc.returncode
        self.stdout = proc.stdout
        return self

    @property
    def events(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.artifacts, "job_events", "*.json"))):
            with open(path) as f:
                out.append(json.load(f))
        return out

    def artifact_texts(self):
        """{relative path: text} of every file under artifacts/<ident> (stdout, job_events, fact_cache, ...)."""
        texts = {}
        for base, _dirs, files in os.walk(self.artifacts):
            for name in files:
                path = os.path.join(base, name)
                with open(path, errors="replace") as f:
                    texts[os.path.relpath(path, self.artifacts)] = f.read()
        return texts

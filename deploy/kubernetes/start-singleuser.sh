#!/bin/sh
# A learner's server on the hub (config.yaml: singleuser.cmd). Each learner runs under a uid of
# their own (hub.extraConfig learner-uid), so that the nbgrader exchange's file permissions keep
# learners apart; that uid has no line in the image's /etc/passwd, and Python's getpass, Jupyter and
# nbgrader ask for one. nss_wrapper gives it the name "jovyan", which nbgrader replaces with the
# hub user's name ($JUPYTERHUB_USER) when it labels a submission.
set -eu

if ! getent passwd "$(id -u)" >/dev/null; then
    NSS_WRAPPER_PASSWD=$(mktemp)
    NSS_WRAPPER_GROUP=/etc/group
    cat /etc/passwd >"$NSS_WRAPPER_PASSWD"
    echo "jovyan:x:$(id -u):$(id -g):${JUPYTERHUB_USER:-learner}:${HOME:-/home/jovyan}:/bin/bash" >>"$NSS_WRAPPER_PASSWD"
    LD_PRELOAD=libnss_wrapper.so
    export LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
fi

# Lessons reach the learner through the Assignments tab (nbgrader fetch, into ~/<lesson>/), not
# through the self-study workspace of `make lab`: the fetched copy is the one that is submitted.
cd "${HOME:-/home/jovyan}"
exec jupyterhub-singleuser "$@"

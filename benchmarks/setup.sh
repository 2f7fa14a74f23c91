#!/bin/bash
# Sets up everything benchmarks/run.py needs, on a fresh Debian machine.
#
#   bash benchmarks/setup.sh          (as root; safe to run again)
#
# * Debian's postfix package, for smtp-sink and smtp-source only: installed
#   with "No configuration", and any Postfix daemon it may have started is
#   stopped again (the benchmarks never need one);
# * benchmarks/.venv-py311: Python 3.11 with aiosmtpd, Twisted and
#   pymta's dependencies;
# * benchmarks/.venv-py27: Python 2.7 with pymta's dependencies (made with
#   virtualenv < 20.22, the last that creates 2.7 environments, installed in
#   benchmarks/.venv-tools).
# pymta itself is not installed: run.py puts this checkout on PYTHONPATH,
# so the benchmark always measures the working tree.
#
# The interpreters: PY311 and PY27 if set, else pyenv's 3.11.x / 2.7.18,
# else python3.11 / python2.7 on PATH.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: run it as root (it apt-installs postfix)" >&2
    exit 1
fi

find_python() {      # $1: version prefix such as 3.11 or 2.7
    local candidate
    if command -v pyenv >/dev/null 2>&1; then
        for candidate in "$(pyenv root)"/versions/"$1".*/bin/python; do
            if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
        done
    fi
    if command -v "python$1" >/dev/null 2>&1; then
        command -v "python$1"; return 0
    fi
    return 1
}

PY311="${PY311:-$(find_python 3.11 || true)}"
PY27="${PY27:-$(find_python 2.7 || true)}"
if [ -z "$PY311" ] || [ -z "$PY27" ]; then
    echo "setup.sh: need Python 3.11 and 2.7 (found: '${PY311}' '${PY27}');" \
         "set PY311=/path/python3.11 PY27=/path/python2.7" >&2
    exit 1
fi

echo "== postfix (smtp-sink, smtp-source)"
if ! [ -x /usr/sbin/smtp-sink ] || ! [ -x /usr/sbin/smtp-source ]; then
    apt-get update
    echo "postfix postfix/main_mailer_type select No configuration" \
        | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y postfix
fi
# The package may start a daemon (where services start on install): stop it.
if [ -x /etc/init.d/postfix ]; then
    /etc/init.d/postfix stop >/dev/null 2>&1 || true
fi
postfix stop >/dev/null 2>&1 || true
for exe in /proc/[0-9]*/exe; do
    case "$(readlink "$exe" 2>/dev/null)" in
        /usr/lib/postfix/sbin/*)
            echo "setup.sh: a Postfix daemon is still running" \
                 "($exe); stop it: postfix stop" >&2
            exit 1 ;;
    esac
done

echo "== $here/.venv-py311 ($PY311)"
[ -x "$here/.venv-py311/bin/python" ] || "$PY311" -m venv "$here/.venv-py311"
"$here/.venv-py311/bin/pip" install -q --upgrade pip
"$here/.venv-py311/bin/pip" install -q aiosmtpd twisted six \
    'pycerberus>=0.7'

echo "== $here/.venv-py27 ($PY27)"
if ! [ -x "$here/.venv-py27/bin/python" ]; then
    [ -x "$here/.venv-tools/bin/virtualenv" ] || {
        "$PY311" -m venv "$here/.venv-tools"
        "$here/.venv-tools/bin/pip" install -q 'virtualenv<20.22'
    }
    "$here/.venv-tools/bin/virtualenv" -q -p "$PY27" "$here/.venv-py27"
fi
"$here/.venv-py27/bin/pip" install -q six 'pycerberus>=0.7'

echo "== check"
"$here/.venv-py311/bin/python" -c 'import aiosmtpd, twisted.mail.smtp, six, pycerberus'
"$here/.venv-py27/bin/python" -c 'import six, pycerberus'
echo "ready: python3 $(realpath --relative-to="$PWD" "$here")/run.py"

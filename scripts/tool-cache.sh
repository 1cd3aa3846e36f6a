# Sourced by scripts/lint-templates, scripts/ric-venv and scripts/emulator: where the
# project's pinned Python tools live. They are installed once per user, outside any
# checkout, in a folder named by a hash of their pins, so a second clone or a CI run on a
# warm machine reuses them, and a pin change installs next to the old one instead of over
# it. Only the installs are shared: running state (pid files, logs) stays per checkout.
#
#   IRISCTL_CACHE_DIR   root of the cache (default: ${XDG_CACHE_HOME:-$HOME/.cache}/irisctl)

irisctl_cache_root() {
    echo "${IRISCTL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/irisctl}"
}

# The venv folder for NAME installed with PINS: <cache root>/NAME-<first 16 hex of sha256>.
irisctl_venv_dir() { # name pins...
    local name="$1" hash
    shift
    hash="$(printf '%s\n' "$@" | sha256sum | cut -c1-16)"
    echo "$(irisctl_cache_root)/$name-$hash"
}

# True when VENV was installed with exactly PINS (its marker says so) and its interpreter
# still runs (a removed or upgraded base Python breaks a venv silently otherwise).
irisctl_venv_ready() { # venv pins...
    local venv="$1"
    shift
    [[ -f "$venv/.irisctl-installed" ]] &&
        [[ "$(cat "$venv/.irisctl-installed")" == "pins: $*" ]] &&
        "$venv/bin/python" -c '' >/dev/null 2>&1
}

# Creates VENV with PYTHON and installs PINS unless it is ready. An install holds a lock
# (VENV.lock), so two checkouts installing at once do not write into the same venv; the
# marker is written last, so an interrupted install is redone from scratch next time.
# pip's output goes to LOG (shown in part on failure).
irisctl_venv_install() { # venv python log pins...
    local venv="$1" python="$2" log="$3"
    shift 3
    irisctl_venv_ready "$venv" "$@" && return 0
    mkdir -p "$(dirname "$venv")" "$(dirname "$log")"
    (
        flock 8
        irisctl_venv_ready "$venv" "$@" && exit 0
        started=$SECONDS
        echo "installing $* into $venv with $("$python" --version 2>&1)" >&2
        rm -rf "$venv"
        "$python" -m venv "$venv" >"$log" 2>&1 || {
            cat "$log" >&2
            echo "could not create a venv at $venv with $python" >&2
            exit 1
        }
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --upgrade pip >>"$log" 2>&1 ||
            ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
                "$@" >>"$log" 2>&1; then
            tail -n 20 "$log" >&2
            echo "installing $* into $venv failed; full log: $log" >&2
            exit 1
        fi
        echo "pins: $*" >"$venv/.irisctl-installed"
        echo "installed $(basename "$venv") in $((SECONDS - started)) s" >&2
    ) 8>"$venv.lock"
}

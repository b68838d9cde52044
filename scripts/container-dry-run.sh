#!/usr/bin/env bash
# Replays the Dockerfile's own steps without a container engine, so that the file cannot rot silently.
#
# The script READS the Dockerfile (it keeps no copy of its steps) and, per stage, in a temporary
# directory that stands for the stage's root file system:
#   FROM x AS name   starts a stage (the base image is not fetched: the host's node, npm and compilers
#                    stand in for it; node must be a 20.x like node:20-bookworm-slim)
#   WORKDIR, ENV     are applied; ENV values that name a VOLUME are pointed at the temporary volume
#   COPY             copies from the build context (this repository) or, with --from, from a stage
#   RUN              runs steps made only of npm/node commands, in the stage's working directory, with
#                    the stage's ENV. Two kinds of step are skipped, because the host already provides
#                    them: `apt-get ...` (build tools) and `groupadd ...` (creating the runtime user and
#                    the data directory, emulated below). Any other RUN step fails the dry run, so that a
#                    new step is either taught to this script or noticed.
#   USER uid:gid     must be numeric and non-root; the final stage's CMD runs as that uid via setpriv
#                    when this script runs as root, else as the current (non-root) user, and says so
#   VOLUME           becomes a fresh directory owned by that uid
#   HEALTHCHECK/CMD  CMD is started with only the stage's ENV (plus PATH); the HEALTHCHECK command is
#                    polled until it passes, then GET /ready must answer 200 `ready`; then SIGTERM must
#                    stop the server with exit code 0.
# Deviations, on purpose: LEXECON_PORT is set to a free port (8000 may be taken on the host); npm reads
# its cache first (npm_config_prefer_offline) and, when the host has Node headers in /usr/include/node,
# builds native addons against them (npm_config_nodedir=/usr). .dockerignore is checked only for the
# top-level sources that COPY names.
# Speed: compiling better-sqlite3 (the SQLite amalgamation, one C file) takes 2+ minutes on a small
# machine. A Docker build with network downloads a prebuilt addon instead (prebuild-install), or reuses
# its layer cache. The dry run does the same with prebuild-install's own "local prebuilds" directory,
# filled only from addons that an earlier dry run compiled itself on this machine (same package
# version, Node ABI, platform and arch; prebuild-install loads the addon to check it before using it):
# the first run compiles, later runs take seconds. LEXECON_DRY_RUN_COMPILE=1 always compiles;
# LEXECON_DRY_RUN_CACHE sets the directory (default ~/.cache/lexecon-dry-run).
#
# Usage: scripts/container-dry-run.sh [--keep]     (--keep leaves the temporary directory in place;
#        DOCKERFILE=path replays another file, as test/docker/dockerfile.test.ts does for its refusals)
set -euo pipefail
umask 022

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKERFILE="${DOCKERFILE:-$REPO/Dockerfile}"
KEEP=0
[[ "${1:-}" == "--keep" ]] && KEEP=1

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lexecon-dry-run.XXXXXX")"
chmod 755 "$WORK"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  if [[ "$KEEP" == 1 ]]; then echo "dry-run: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { echo "dry-run: $*"; }
die() { echo "dry-run: FAILED: $*" >&2; exit 1; }
START_ALL=$SECONDS

[[ -f "$DOCKERFILE" ]] || die "no Dockerfile at $DOCKERFILE"
node -e 'process.exit(process.versions.node.split(".")[0]==="20"?0:1)' \
  || log "warning: host node is $(node --version), the image uses node 20"
export npm_config_prefer_offline=true npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node.h ]]; then export npm_config_nodedir=/usr; fi

# --- read the Dockerfile: join continuation lines, drop comments and blank lines ----------------------
mapfile -t INSTRUCTIONS < <(awk '
  /^[[:space:]]*#/ && cont == "" { next }
  { line = $0 }
  /\\[[:space:]]*$/ { sub(/\\[[:space:]]*$/, "", line); cont = cont line " "; next }
  { line = cont line; cont = ""; if (line ~ /[^[:space:]]/) print line }
' "$DOCKERFILE")
[[ ${#INSTRUCTIONS[@]} -gt 0 ]] || die "the Dockerfile has no instructions"

# JSON array (exec form) -> NUL-separated words
json_words() { node -e 'const a=JSON.parse(process.argv[1]);if(!Array.isArray(a))process.exit(2);process.stdout.write(a.map(String).join("\0")+"\0")' "$1"; }

# .dockerignore: top-level patterns only (enough for COPY sources named at the top level)
IGNORED=()
if [[ -f "$REPO/.dockerignore" ]]; then
  while IFS= read -r p; do [[ -z "$p" || "$p" == \#* ]] && continue; IGNORED+=("$p"); done < "$REPO/.dockerignore"
fi
ignored() {
  local s="${1#./}" p
  s="${s%/}"
  for p in "${IGNORED[@]}"; do
    # shellcheck disable=SC2053
    [[ "$s" == $p ]] && return 0
  done
  return 1
}

PREBUILDS="${LEXECON_DRY_RUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lexecon-dry-run}/prebuilds"
# package-lock.json -> prebuild-install's per-package "local prebuilds" setting, for the install step
prebuild_env() {
  [[ "${LEXECON_DRY_RUN_COMPILE:-0}" == 1 || ! -f package-lock.json ]] && return 0
  node -e '
    const lock = require(process.cwd() + "/package-lock.json");
    for (const [p, e] of Object.entries(lock.packages ?? {}))
      if (e.hasInstallScript && p.startsWith("node_modules/"))
        console.log("npm_config_" + p.slice(13).replace(/[^a-zA-Z0-9]/g, "_").replace(/^_/, "") + "_local_prebuilds=" + process.argv[1]);
  ' "$PREBUILDS"
}
# after an install: keep the addons it compiled (packages installed by prebuild-install) for later runs
seed_prebuilds() {
  [[ "${LEXECON_DRY_RUN_COMPILE:-0}" == 1 ]] && return 0
  mkdir -p "$PREBUILDS"
  node -e '
    const fs = require("fs"), path = require("path"), { execFileSync } = require("child_process");
    if (!process.report.getReport().header.glibcVersionRuntime) process.exit(0); // prebuild names differ on musl
    for (const name of fs.readdirSync("node_modules").flatMap((d) => d.startsWith("@") ? fs.readdirSync("node_modules/" + d).map((x) => d + "/" + x) : [d])) {
      const dir = path.join("node_modules", name);
      let pkg; try { pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")); } catch { continue; }
      if (!/prebuild-install/.test(pkg.scripts?.install ?? "")) continue;
      const release = path.join(dir, "build", "Release");
      const all = fs.existsSync(release) ? fs.readdirSync(release).filter((f) => f.endsWith(".node")) : [];
      // one addon per tarball, as published prebuilds have (better-sqlite3 also builds a test_extension.node)
      const own = pkg.name.replace(/^@.*\//, "").replace(/[^a-zA-Z0-9]/g, "_") + ".node";
      const addons = all.includes(own) ? [own] : all.length === 1 ? all : [];
      if (addons.length === 0) continue;
      const file = path.join(process.argv[1], `${pkg.name}-v${pkg.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
      if (fs.existsSync(file)) continue;
      execFileSync("tar", ["-czf", file + ".tmp", "-C", dir, ...addons.map((a) => "build/Release/" + a)]);
      fs.renameSync(file + ".tmp", file);
      console.log("dry-run:   kept the compiled " + pkg.name + " addon for later runs: " + file);
    }
  ' "$PREBUILDS"
}

STAGE=""; ROOT=""; WORKDIR="/"; RUN_USER=""; VOLUMES=(); HEALTH_JSON=""; CMD_JSON=""
declare -A ENVS=()
declare -A STAGE_ROOT=()
STEP=0

stage_env() { local k; for k in "${!ENVS[@]}"; do printf '%s=%s\n' "$k" "${ENVS[$k]}"; done; }
abs_in_root() { # path inside the stage -> host path
  local p="$1"
  [[ "$p" == /* ]] || p="${WORKDIR%/}/$p"
  echo "$ROOT$p"
}

do_copy() {
  local from="" args=() a
  for a in "$@"; do
    case "$a" in
      --from=*) from="${a#--from=}" ;;
      --chown=*|--chmod=*|--link) ;;  # ownership: files stay root-owned and world-readable, as here
      --*) die "COPY option $a is not understood by the dry run" ;;
      *) args+=("$a") ;;
    esac
  done
  [[ ${#args[@]} -ge 2 ]] || die "COPY needs a source and a destination"
  local dest="${args[-1]}" srcs=("${args[@]:0:${#args[@]}-1}") base multi=0 s src target
  if [[ -n "$from" ]]; then
    base="${STAGE_ROOT[$from]:-}"; [[ -n "$base" ]] || die "COPY --from=$from: no such stage"
  else
    base="$REPO"
  fi
  [[ ${#srcs[@]} -gt 1 || "$dest" == */ ]] && multi=1
  target="$(abs_in_root "$dest")"
  for s in "${srcs[@]}"; do
    [[ -z "$from" ]] && ignored "$s" && die "COPY $s: the source is excluded by .dockerignore"
    if [[ -n "$from" ]]; then src="$base/${s#/}"; else src="$base/${s#./}"; fi
    [[ -e "$src" ]] || die "COPY $s: not found ($src)"
    if [[ -d "$src" ]]; then
      mkdir -p "$target"; cp -a "$src/." "$target/"
    elif [[ "$multi" == 1 ]]; then
      mkdir -p "$target"; cp -a "$src" "$target/"
    else
      mkdir -p "$(dirname "$target")"; cp -a "$src" "$target"
    fi
  done
}

do_run() {
  local cmd="$1" part
  case "$cmd" in
    apt-get\ *) log "  skipped (the host provides the build tools: python3, make, g++)"; return ;;
    groupadd\ *) log "  skipped (the user is emulated by running CMD as the USER uid; VOLUME dirs are created for it)"; return ;;
  esac
  # every command of an && chain must be npm or node
  local rest="$cmd"
  while [[ -n "$rest" ]]; do
    part="${rest%%&&*}"
    if [[ "$rest" == *"&&"* ]]; then rest="${rest#*&&}"; else rest=""; fi
    part="${part#"${part%%[![:space:]]*}"}"
    [[ "$part" =~ ^(npm|node)[[:space:]] ]] || die "RUN step not replayable and not in the skip list: $cmd"
    [[ "$part" =~ [\;\|\`\$\>\<] ]] && die "RUN step with shell syntax the dry run does not replay: $cmd"
  done
  local dir; dir="$(abs_in_root .)"
  mkdir -p "$dir"
  local t0=$SECONDS install=0
  [[ "$cmd" =~ ^npm\ (ci|install)([[:space:]]|$) ]] && install=1
  local extra=()
  [[ "$install" == 1 ]] && mapfile -t extra < <(cd "$dir" && prebuild_env)
  ( cd "$dir" && env $(stage_env) "${extra[@]}" bash -c "$cmd" ) > "$WORK/step-$STEP.log" 2>&1 \
    || { tail -40 "$WORK/step-$STEP.log" >&2; die "RUN $cmd (exit $?)"; }
  log "  done in $((SECONDS - t0)) s"
  if [[ "$install" == 1 ]]; then (cd "$dir" && seed_prebuilds); fi
}

# The checkout's own node_modules was installed on this machine (same Node ABI, same lockfile): its
# compiled addons seed the cache, so even a first dry run (a clean CI machine) does not compile again.
if [[ -d "$REPO/node_modules" ]]; then (cd "$REPO" && seed_prebuilds); fi

for ins in "${INSTRUCTIONS[@]}"; do
  STEP=$((STEP + 1))
  keyword="${ins%%[[:space:]]*}"; keyword="${keyword^^}"
  rest="${ins#*[[:space:]]}"; rest="${rest#"${rest%%[![:space:]]*}"}"
  log "step $STEP: ${ins:0:140}"
  case "$keyword" in
    FROM)
      read -r -a w <<< "$rest"
      [[ ${#w[@]} -eq 3 && "${w[1]^^}" == AS ]] || die "FROM must name its stage (FROM image AS name)"
      STAGE="${w[2]}"; ROOT="$WORK/stage-$STAGE"; mkdir -p "$ROOT"; STAGE_ROOT[$STAGE]="$ROOT"
      WORKDIR="/"; ENVS=(); RUN_USER=""; VOLUMES=(); HEALTH_JSON=""; CMD_JSON="" ;;
    WORKDIR) WORKDIR="$rest"; mkdir -p "$ROOT$WORKDIR" ;;
    ENV)
      [[ "$rest" == *=* ]] || die "ENV must use the key=value form"
      [[ "$rest" =~ [\"\'\$] ]] && die "ENV with quotes or expansions is not understood by the dry run"
      read -r -a w <<< "$rest"
      for kv in "${w[@]}"; do ENVS["${kv%%=*}"]="${kv#*=}"; done ;;
    COPY) read -r -a w <<< "$rest"; do_copy "${w[@]}" ;;
    RUN) do_run "$rest" ;;
    USER)
      [[ "$rest" =~ ^([0-9]+)(:([0-9]+))?$ ]] || die "USER must be numeric uid[:gid] (got $rest)"
      RUN_USER="$rest"; [[ "${BASH_REMATCH[1]}" != 0 ]] || die "USER is root" ;;
    VOLUME) read -r -a w <<< "${rest//[\[\],\"]/ }"; VOLUMES+=("${w[@]}") ;;
    EXPOSE|LABEL|ARG|STOPSIGNAL) log "  (metadata only)" ;;
    HEALTHCHECK) [[ "$rest" =~ CMD[[:space:]]+(\[.*\])[[:space:]]*$ ]] || die "HEALTHCHECK must use CMD [exec form]"; HEALTH_JSON="${BASH_REMATCH[1]}" ;;
    CMD) [[ "$rest" == \[* ]] || die "CMD must use the exec form"; CMD_JSON="$rest" ;;
    *) die "instruction $keyword is not understood by the dry run" ;;
  esac
done

# --- the final stage: start CMD as the image would --------------------------------------------------
[[ -n "$CMD_JSON" ]] || die "the final stage has no CMD"
[[ -n "$HEALTH_JSON" ]] || die "the final stage has no HEALTHCHECK"
[[ -n "$RUN_USER" ]] || die "the final stage has no USER (it would run as root)"
UID_N="${RUN_USER%%:*}"; GID_N="${RUN_USER#*:}"; [[ "$GID_N" == "$RUN_USER" ]] && GID_N="$UID_N"

APP="$(abs_in_root .)"
for p in typescript tsx vitest; do
  [[ ! -e "$APP/node_modules/$p" ]] || die "the final stage still has the dev dependency $p"
done

for v in "${VOLUMES[@]}"; do
  mkdir -p "$ROOT$v"
  for k in "${!ENVS[@]}"; do [[ "${ENVS[$k]}" == "$v" ]] && ENVS[$k]="$ROOT$v"; done
done

PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
ENVS[LEXECON_PORT]="$PORT"

AS=()
if [[ "$(id -u)" == 0 ]]; then
  command -v setpriv > /dev/null || die "running as root but setpriv is missing"
  for v in "${VOLUMES[@]}"; do chown "$UID_N:$GID_N" "$ROOT$v"; done
  AS=(setpriv "--reuid=$UID_N" "--regid=$GID_N" --clear-groups --)
  "${AS[@]}" node -e 0 || die "uid $UID_N cannot run $(command -v node) (node installed under a private home?)"
  log "starting CMD as uid $UID_N gid $GID_N (USER of the final stage)"
else
  UID_N="$(id -u)"
  log "not root: starting CMD as the current non-root user (uid $UID_N) instead of uid ${RUN_USER%%:*}"
fi

mapfile -d '' -t CMD_WORDS < <(json_words "$CMD_JSON")
mapfile -d '' -t HEALTH_WORDS < <(json_words "$HEALTH_JSON")
RUN_ENV=(env -i "PATH=$PATH" "HOME=$APP" $(stage_env))

cd "$APP"
"${AS[@]}" "${RUN_ENV[@]}" "${CMD_WORDS[@]}" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!

healthy=0
for _ in $(seq 1 60); do
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "the server exited before it was healthy"; }
  if "${AS[@]}" "${RUN_ENV[@]}" "${HEALTH_WORDS[@]}" > /dev/null 2>&1; then healthy=1; break; fi
  sleep 1
done
[[ "$healthy" == 1 ]] || { cat "$WORK/server.log" >&2; die "HEALTHCHECK did not pass within 60 s"; }
log "HEALTHCHECK passed"

ready="$(node -e 'fetch(process.argv[1]).then(async r=>{const b=await r.json();console.log(r.status+" "+b.status)},e=>{console.log("error "+e.message)})' "http://127.0.0.1:$PORT/ready")"
[[ "$ready" == "200 ready" ]] || { cat "$WORK/server.log" >&2; die "GET /ready answered: $ready"; }
log "GET /ready: $ready"

proc_uid="$(awk '/^Uid:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo "?")"
[[ "$proc_uid" == "$UID_N" ]] || die "the server runs as uid $proc_uid, expected $UID_N"
[[ "$proc_uid" != 0 ]] || die "the server runs as root"
for v in "${VOLUMES[@]}"; do
  owners="$(find "$ROOT$v" -mindepth 1 -maxdepth 1 -printf '%U\n' | sort -u | tr '\n' ' ')"
  log "VOLUME $v now holds: $(ls "$ROOT$v" | tr '\n' ' ')(owned by uid ${owners% })"
  [[ "${owners% }" == "$UID_N" ]] || die "files on VOLUME $v are owned by uid ${owners% }, expected $UID_N"
done

kill -TERM "$SERVER_PID"
code=0; wait "$SERVER_PID" || code=$?
SERVER_PID=""
[[ "$code" == 0 ]] || { cat "$WORK/server.log" >&2; die "the server exited with $code on SIGTERM"; }
log "stopped on SIGTERM with exit code 0"
log "OK: Dockerfile replayed in $((SECONDS - START_ALL)) s (server uid $proc_uid, port $PORT)"

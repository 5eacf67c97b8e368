#!/usr/bin/env bash
# Runs every check on terraform/ that can run without AWS credentials or a
# provider binary:
#   1. terraform fmt -check over the whole tree;
#   2. tflint (bundled terraform ruleset, preset "all") over each module, the
#      root composition and the example;
#   3. terraform test on the provider-free modules (naming, subnet plan,
#      sizing and alarm thresholds, alarm plan, ALB Ingress settings),
#      validations included; then the sizing module once more with the
#      example's own terraform.tfvars.example, so the shipped example must
#      fit its database and its node group;
#   4. checkov with our custom policies: each policy must FAIL every broken_*
#      resource of its fixture under terraform/policies/fixtures/<id>/;
#   5. checkov over the real tree (root composition rendered with the
#      example's terraform.tfvars.example): no failure, every custom policy
#      evaluated and passed; then checkov's built-in checks over the example
#      itself; every skip justified.
# Tools are installed into $TICKETING_CACHE once (tflint built from its Go
# module, checkov pip-installed into a venv); later runs reuse them.
# Prints a final line "terraform checks: N passed, M failed" and exits non-zero
# when anything failed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tf_dir="$repo_root/terraform"
TICKETING_CACHE="${TICKETING_CACHE:-$HOME/.cache/ticketing}"

TERRAFORM_MIN_VERSION="1.6.0"
TFLINT_VERSION="0.64.0"
CHECKOV_VERSION="3.3.30"

tflint_bin="$TICKETING_CACHE/bin/tflint"
# Shared with scripts/test-helm.sh (same path, same version, same install).
checkov_venv="$TICKETING_CACHE/checkov-$CHECKOV_VERSION"
checkov_bin="$checkov_venv/bin/checkov"
work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT

# Modules without any provider: `terraform test` runs them offline.
provider_free_modules=(naming subnet-plan thresholds alarm-plan alb-ingress)

passed=0
failed=0

log() { printf '[test-terraform] %s\n' "$*"; }
die() { printf '[test-terraform] ERROR: %s\n' "$*" >&2; exit 1; }
ok() { passed=$((passed + 1)); log "PASS $*"; }
ko() { failed=$((failed + 1)); log "FAIL $*"; }

# --- Tools ------------------------------------------------------------------

version_at_least() {
  # True when version $1 >= version $2 (dotted numbers).
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

require_terraform() {
  command -v terraform >/dev/null 2>&1 \
    || die "terraform is not installed (need >= $TERRAFORM_MIN_VERSION on PATH; expected /usr/local/bin/terraform)"
  local version
  version=$(terraform version -json | python3 -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])')
  version_at_least "$version" "$TERRAFORM_MIN_VERSION" \
    || die "terraform $version is too old: need >= $TERRAFORM_MIN_VERSION"
  ok "terraform $version >= $TERRAFORM_MIN_VERSION"
}

tflint_is_cached() {
  [ -x "$tflint_bin" ] && [[ "$("$tflint_bin" --version 2>/dev/null)" == *"TFLint version $TFLINT_VERSION"* ]]
}

ensure_tflint() {
  if tflint_is_cached; then
    log "tflint $TFLINT_VERSION cached at $tflint_bin"
    return
  fi
  command -v go >/dev/null 2>&1 || die "go is needed to build tflint $TFLINT_VERSION but is not on PATH"
  log "building tflint $TFLINT_VERSION into $TICKETING_CACHE/bin (a few minutes, once)"
  mkdir -p "$TICKETING_CACHE/bin"
  (cd "$work_dir" && GOBIN="$TICKETING_CACHE/bin" go install "github.com/terraform-linters/tflint@v$TFLINT_VERSION") \
    || die "go install of tflint $TFLINT_VERSION failed"
  tflint_is_cached || die "built tflint does not report version $TFLINT_VERSION"
}

checkov_is_cached() {
  [[ "$("$checkov_bin" --version 2>/dev/null || true)" == "$CHECKOV_VERSION" ]]
}

ensure_checkov() {
  if checkov_is_cached; then
    log "checkov $CHECKOV_VERSION cached at $checkov_venv"
    return
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to install checkov but is not on PATH"
  log "installing checkov $CHECKOV_VERSION into $checkov_venv (a minute or two, once)"
  rm -rf "$checkov_venv"
  mkdir -p "$(dirname "$checkov_venv")"
  python3 -m venv "$checkov_venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$checkov_venv/bin/pip" install --quiet "checkov==$CHECKOV_VERSION" || die "pip install checkov==$CHECKOV_VERSION failed"
  checkov_is_cached || die "checkov $CHECKOV_VERSION did not install"
}

# Terraform must neither read a user's CLI configuration nor call home.
setup_terraform_env() {
  mkdir -p "$TICKETING_CACHE/terraform"
  : >"$TICKETING_CACHE/terraform/terraformrc"
  export TF_CLI_CONFIG_FILE="$TICKETING_CACHE/terraform/terraformrc"
  export CHECKPOINT_DISABLE=1
  export TF_IN_AUTOMATION=1
}

# --- Checks -----------------------------------------------------------------

check_fmt() {
  log "terraform fmt -check -recursive terraform/"
  if terraform fmt -check -recursive -diff "$tf_dir"; then
    ok "terraform fmt"
  else
    ko "terraform fmt (run: terraform fmt -recursive terraform/)"
  fi
}

check_tflint() {
  local dir rel
  for dir in "$tf_dir" "$tf_dir/examples/complete" "$tf_dir"/modules/*/; do
    dir=${dir%/}
    rel=${dir#"$repo_root"/}
    if "$tflint_bin" --chdir="$dir" --config="$tf_dir/.tflint.hcl" --no-color --minimum-failure-severity=notice; then
      ok "tflint $rel"
    else
      ko "tflint $rel"
    fi
  done
}

check_terraform_test() {
  local module dir out summary
  for module in "${provider_free_modules[@]}"; do
    dir="$tf_dir/modules/$module"
    # A provider-free module must stay provider-free, or `terraform test`
    # would need a provider download that cannot happen here.
    if grep -Eq '^\s*(required_providers|resource|data|provider)\b' "$dir"/*.tf; then
      ko "terraform test modules/$module: the module declares a provider, resource or data source"
      continue
    fi
    log "terraform test modules/$module"
    if out=$(cd "$dir" && terraform test -no-color 2>&1); then
      summary=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1 || true)
      printf '%s\n' "$out" | grep -E '^\s+run "' || true
      if [[ "$summary" =~ ^[1-9][0-9]*\ passed ]]; then
        ok "terraform test modules/$module ($summary)"
      else
        ko "terraform test modules/$module ran no test"
      fi
    else
      printf '%s\n' "$out"
      ko "terraform test modules/$module"
    fi
  done
}

check_example_sizing() {
  # The peak sizing of the shipped example: modules/thresholds planned with
  # examples/complete/terraform.tfvars.example (variables the module does not
  # declare are ignored), so the example cannot need more connections than
  # its Aurora instance class holds or more nodes than its node group allows.
  local dir="$tf_dir/modules/thresholds" out summary
  log "terraform test modules/thresholds with examples/complete/terraform.tfvars.example"
  if out=$(cd "$dir" && terraform test -no-color -test-directory=example-tests \
    -var-file="$tf_dir/examples/complete/terraform.tfvars.example" 2>&1) \
    && grep -Eq '[1-9][0-9]* passed, 0 failed' <<<"$out"; then
    summary=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1)
    ok "the shipped example's peak fits its database and node group ($summary)"
  else
    printf '%s\n' "$out"
    ko "the shipped example's peak does not fit its database or node group (see modules/thresholds)"
  fi
}

judge() {
  # Counts each PASS / FAIL verdict that terraform/scripts/checkov_report.py
  # prints about a checkov report.
  local line verdicts
  verdicts=$("$checkov_venv/bin/python" "$tf_dir/scripts/checkov_report.py" "$@") \
    || { ko "checkov report $1: could not be read"; return; }
  while IFS= read -r line; do
    case "$line" in
      PASS\ *) ok "${line#PASS }" ;;
      FAIL\ *) ko "${line#FAIL }" ;;
      *) ko "unexpected verdict: $line" ;;
    esac
  done <<<"$verdicts"
}

custom_policy_ids() {
  {
    grep -ho 'id="CKV[A-Z0-9_]*"' "$tf_dir"/policies/*.py | cut -d'"' -f2
    grep -ho '^  id: "CKV[A-Z0-9_]*"' "$tf_dir"/policies/*.yaml | cut -d'"' -f2
  } | sort -u
}

run_checkov() {
  # Runs checkov with our policies and writes its JSON report to $1; the
  # remaining arguments are passed on. Exit status 1 only means "findings".
  local report=$1
  shift
  local status=0
  "$checkov_bin" --framework terraform --skip-download --output json \
    --external-checks-dir "$tf_dir/policies" "$@" >"$report" 2>"$report.log" || status=$?
  if [ "$status" -gt 1 ]; then
    cat "$report.log" >&2
    return 1
  fi
}

check_policy_fixtures() {
  local ids report
  ids=$(custom_policy_ids | paste -sd, -)
  [ -n "$ids" ] || { ko "checkov fixtures: no custom policy found under terraform/policies"; return; }
  log "checkov: custom policies ($ids) on their broken fixtures"
  report="$work_dir/fixtures.json"
  if ! run_checkov "$report" --directory "$tf_dir/policies/fixtures" --check "$ids"; then
    ko "checkov fixtures: checkov did not run"
    return
  fi
  judge fixtures "$report" "$tf_dir/policies/fixtures" $(custom_policy_ids)
}

check_real_tree() {
  local report
  report="$work_dir/tree.json"
  log "checkov: all built-in and custom policies on terraform/ (root rendered with examples/complete/terraform.tfvars.example)"
  # The example only wraps the root module; checkov does not render variables
  # through two module levels, so the root is scanned directly with the
  # example's inputs. The fixtures are broken on purpose.
  if ! run_checkov "$report" --directory "$tf_dir" \
    --skip-path examples --skip-path policies/fixtures \
    --var-file "$tf_dir/examples/complete/terraform.tfvars.example"; then
    ko "checkov terraform/: checkov did not run"
    return
  fi
  judge tree "$report" $(custom_policy_ids)
}

check_example() {
  # The example through both module levels, with checkov's built-in checks.
  # Our policies are left out here: checkov leaves values unresolved two
  # module levels down, so they are judged on the root scan above instead.
  local report="$work_dir/example.json"
  log "checkov: built-in policies on terraform/examples/complete"
  if ! run_checkov "$report" --directory "$tf_dir/examples/complete" \
    --skip-check "$(custom_policy_ids | paste -sd, -)" \
    --var-file "$tf_dir/examples/complete/terraform.tfvars.example"; then
    ko "checkov examples/complete: checkov did not run"
    return
  fi
  judge example "$report"
}

check_skip_reasons() {
  # Every checkov skip in the real tree carries a reason after the check id.
  local bad
  bad=$(grep -rn --include='*.tf' 'checkov:skip=' "$tf_dir" | grep -v '/policies/fixtures/' \
    | grep -Ev 'checkov:skip=CKV[A-Z0-9_]*:[^[:space:]].{9,}' || true)
  if [ -z "$bad" ]; then
    ok "every checkov:skip carries a reason"
  else
    printf '%s\n' "$bad"
    ko "checkov:skip without a reason"
  fi
}

main() {
  log "cache: $TICKETING_CACHE"
  setup_terraform_env
  require_terraform
  ensure_tflint
  ensure_checkov
  check_fmt
  check_tflint
  check_terraform_test
  check_example_sizing
  check_policy_fixtures
  check_real_tree
  check_example
  check_skip_reasons
  echo "terraform checks: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

main "$@"

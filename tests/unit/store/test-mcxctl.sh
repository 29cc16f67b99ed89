#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# mcxctl subscriber against a temporary database: add, show (never a key),
# update, list, delete; bad values exit 1 with one line naming the option and
# leave the store unchanged; usage errors exit 2.
# Usage: test-mcxctl.sh /path/to/mcxctl
set -u
MCXCTL=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/mcxctl-test-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
db=$dir/sipdb.sqlite
n=0

fail() {
    echo "not ok: $*" >&2
    echo "--- stdout" >&2; cat "$dir/out" >&2
    echo "--- stderr" >&2; cat "$dir/err" >&2
    exit 1
}
# run ARGS...: mcxctl with its output in $dir/out and $dir/err, status in $rc.
run() {
    "$MCXCTL" "$@" >"$dir/out" 2>"$dir/err" </dev/null
    rc=$?
    n=$((n + 1))
}
expect() { # expect STATUS WHAT
    [ "$rc" = "$1" ] || fail "$2: exit $rc, want $1"
}
out_has() { grep -qF -- "$1" "$dir/out" || fail "stdout lacks '$1'"; }
err_has() { grep -qF -- "$1" "$dir/err" || fail "stderr lacks '$1'"; }
one_err_line() {
    [ "$(wc -l <"$dir/err")" -eq 1 ] || fail "stderr is not exactly one line"
}
# Everything the store holds, as mcxctl shows it (and as SQLite dumps it, if the CLI is there).
snapshot() {
    { "$MCXCTL" --db "$db" subscriber list
      for i in alice@alpha.example dora@alpha.example; do
          "$MCXCTL" --db "$db" subscriber show --impi "$i"
      done
      if command -v sqlite3 >/dev/null; then sqlite3 "$db" .dump; fi
    } >"$1" 2>&1
}
unchanged() {
    snapshot "$dir/after"
    cmp -s "$dir/before" "$dir/after" || fail "$1: the store changed"
}

# TS 35.208 test set 1.
K=465b5ce8b199b49faa5f0a2ee238a6bc
OP=cdc202d5123e20f62b6d676ac72cb318
OPC=cd63cb71954a9f4e48a5994e37a02baf
PW='s3cret pass'
HA1=$(printf '%s' "alice@alpha.example:alpha.example:$PW" | md5sum | cut -c1-32)

cat >"$dir/ifc.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<InitialFilterCriteria>
  <Priority>0</Priority>
  <TriggerPoint><ConditionTypeCNF>0</ConditionTypeCNF>
    <SPT><Method>REGISTER</Method></SPT></TriggerPoint>
  <ApplicationServer><ServerName>sip:mcx-server.alpha.example</ServerName></ApplicationServer>
</InitialFilterCriteria>
EOF

# --- help ---------------------------------------------------------------------------
run --help;                  expect 0 "--help"; out_has "subscriber"
run subscriber --help;       expect 0 "subscriber --help"
for o in --impi --impu --barred-impu --k --op --opc --amf --sqn --password --ha1-md5 \
         --realm --scheme --ifc-file add show list update delete; do
    out_has "$o"
done

# --- add ----------------------------------------------------------------------------
run --db "$db" subscriber add --impi alice@alpha.example --impu sip:alice@alpha.example \
    --impu tel:+15550001 --barred-impu sip:alice.old@alpha.example \
    --k "$K" --op "$OP" --password "$PW" --ifc-file "$dir/ifc.xml"
expect 0 "add alice"
[ "$(stat -c %a "$db")" = 600 ] || fail "database file is not mode 600"

echo 'pa55word' >"$dir/pw"
"$MCXCTL" --db "$db" subscriber add --impi dora@alpha.example --impu sip:dora@alpha.example \
    --password - <"$dir/pw" >"$dir/out" 2>"$dir/err"
rc=$?; expect 0 "add dora, password from stdin"

# --- show: every field, never a secret ------------------------------------------------
run --db "$db" subscriber show --impi alice@alpha.example
expect 0 "show alice"
out_has "alice@alpha.example"
out_has "sip:alice@alpha.example  (default)"
out_has "sip:alice.old@alpha.example  (barred)"
out_has "tel:+15550001"
out_has "not registered"
out_has "Digest-AKAv1-MD5"
out_has "K               set"
out_has "OPc             set"
out_has "AMF             8000"
out_has "SQN             0 (0x000000000000)"
out_has "realm           alpha.example"
out_has "HA1 MD5         set"
out_has "HA1 SHA-256     set"
out_has "<ServerName>sip:mcx-server.alpha.example</ServerName>"
for secret in "$K" "$OP" "$OPC" "$PW" "$HA1"; do
    if grep -qiF -- "$secret" "$dir/out" "$dir/err"; then fail "show printed a secret"; fi
done

run --db "$db" subscriber show --impi dora@alpha.example
expect 0 "show dora"
out_has "SIP Digest"
out_has "IMS AKA           no"
out_has "K               not set"

# What mcxctl stored: OPc from OP (TS 35.208 set 1), HA1 of IMPI:realm:password.
if command -v sqlite3 >/dev/null; then
    got=$(sqlite3 "$db" "SELECT lower(hex(opc)) || ' ' || ha1_md5 FROM subscriber
                          WHERE impi = 'alice@alpha.example'")
    [ "$got" = "$OPC $HA1" ] || fail "stored OPc/HA1 are wrong"
fi

# --- bad values: exit 1, one line naming the option, nothing changed -------------------
snapshot "$dir/before"

run --db "$db" subscriber add --impi bob@alpha.example --impu sip:bob@alpha.example \
    --k 465b5ce8b199b49faa5f0a2ee238a6 --opc "$OPC"
expect 1 "short K"; one_err_line; err_has "--k: expected 32 hex digits, got 30"
if grep -qiF 465b5ce8b199 "$dir/err"; then fail "the error echoed K"; fi
unchanged "short K"

run --db "$db" subscriber add --impi bob@alpha.example --impu sip:bob@alpha.example \
    --k 465b5ce8b199b49faa5f0a2ee238a6bz --opc "$OPC"
expect 1 "non-hex K"; one_err_line; err_has "--k: expected 32 hex digits"

run --db "$db" subscriber add --impi bob@alpha.example --impu http://bob \
    --k "$K" --opc "$OPC"
expect 1 "http IMPU"; one_err_line; err_has "--impu"

run --db "$db" subscriber add --impi bob@alpha.example --impu sip:alice@alpha.example \
    --k "$K" --opc "$OPC"
expect 1 "IMPU of alice"; one_err_line; err_has "already belongs to alice@alpha.example"

run --db "$db" subscriber add --impi alice@alpha.example --impu sip:new@alpha.example \
    --password x
expect 1 "duplicate IMPI"; one_err_line; err_has "--impi"

run --db "$db" subscriber add --impi bob --impu sip:bob@alpha.example --password x
expect 1 "no realm"; one_err_line; err_has "--realm"

echo '<InitialFilterCriteria><Priority>0</Priority>' >"$dir/bad.xml"
run --db "$db" subscriber add --impi bob@alpha.example --impu sip:bob@alpha.example \
    --password x --ifc-file "$dir/bad.xml"
expect 1 "bad iFC"; one_err_line; err_has "--ifc-file"

run --db "$db" subscriber update --impi alice@alpha.example --amf 80
expect 1 "short AMF"; one_err_line; err_has "--amf: expected 4 hex digits, got 2"

run --db "$db" subscriber update --impi alice@alpha.example --sqn 281474976710656
expect 1 "SQN of 49 bits"; one_err_line; err_has "--sqn"

run --db "$db" subscriber update --impi alice@alpha.example --scheme md5
expect 1 "bad scheme"; one_err_line; err_has "--scheme"

run --db "$db" subscriber update --impi dora@alpha.example --scheme aka
expect 1 "AKA default without K"; one_err_line; err_has "--scheme"

run --db "$db" subscriber update --impi nobody@alpha.example --sqn 5
expect 1 "update unknown"; one_err_line; err_has "no such subscriber"
unchanged "refused updates"

# --- usage errors: exit 2 -------------------------------------------------------------
run --db "$db" subscriber add --impu sip:x@alpha.example --password x
expect 2 "add without --impi"
run --db "$db" subscriber add --impi x@alpha.example --impu sip:x@alpha.example
expect 2 "add without credentials"
run --db "$db" subscriber add --impi x@alpha.example --impu sip:x@a --k "$K"
expect 2 "--k without --op/--opc"
run --db "$db" subscriber add --impi x@a --impu sip:x@a --k "$K" --op "$OP" --opc "$OPC"
expect 2 "--op with --opc"
run --db "$db" subscriber show --impi x@a --bogus
expect 2 "unknown option"
run --db "$db" subscriber show --impi x@a --k "$K"
expect 2 "option of another verb"
run --db "$db" subscriber frobnicate
expect 2 "unknown verb"
run --db "$db" nonsense
expect 2 "unknown noun"
run subscriber list
expect 2 "no --db"
run --db "$db" subscriber update --impi alice@alpha.example
expect 2 "update without changes"
unchanged "usage errors"

# --- update ---------------------------------------------------------------------------
run --db "$db" subscriber update --impi alice@alpha.example --sqn 1000 --amf 0001
expect 0 "update SQN and AMF"
run --db "$db" subscriber show --impi alice@alpha.example
out_has "SQN             1000 (0x0000000003e8)"
out_has "AMF             0001"
out_has "tel:+15550001"

run --db "$db" subscriber update --impi alice@alpha.example --impu tel:+15550001 \
    --scheme digest
expect 0 "update IMPUs and scheme"
run --db "$db" subscriber show --impi alice@alpha.example
out_has "tel:+15550001  (default)"
out_has "SIP Digest"
if grep -qF "sip:alice@alpha.example" "$dir/out"; then fail "dropped IMPU still shown"; fi

run --db "$db" subscriber update --impi dora@alpha.example --k "$K" --opc "$OPC"
expect 0 "give dora AKA"
run --db "$db" subscriber show --impi dora@alpha.example
out_has "AMF             8000"
out_has "K               set"

# --- list, delete ---------------------------------------------------------------------
run --db "$db" subscriber list
expect 0 "list"
[ "$(wc -l <"$dir/out")" -eq 2 ] || fail "list: want 2 lines"
head -n 1 "$dir/out" | grep -q '^alice@alpha.example  tel:+15550001  SIP Digest' ||
    fail "list: first line"

run --db "$db" subscriber delete --impi alice@alpha.example
expect 0 "delete"
run --db "$db" subscriber show --impi alice@alpha.example
expect 1 "show deleted"; one_err_line
run --db "$db" subscriber delete --impi alice@alpha.example
expect 1 "delete twice"

# Reading a database that does not exist does not create one.
run --db "$dir/typo.sqlite" subscriber list
expect 1 "list missing db"; one_err_line
[ ! -e "$dir/typo.sqlite" ] || fail "list created a database"

echo "ok: $n mcxctl runs"

#!/usr/bin/env bash
# Test the PostgreSQL backup and restore procedure of docs/deployment.md against a
# real server (default: 127.0.0.1:5432, user postgres; override with PGHOST, PGPORT,
# PGUSER, PGPASSWORD). Uses only scratch databases named cs_backup_test_<random>_*,
# dropped again at the end.
#
# The commands are the ones the guide gives, minus the `docker exec` wrapper:
#   backup:  pg_dump -Fc --no-owner -d DB > FILE
#   restore: pg_restore --clean --if-exists --no-owner --exit-on-error --single-transaction -d DB < FILE
#   verify:  pg_restore --list FILE
set -euo pipefail

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
suffix="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
src="cs_backup_test_${suffix}_src"
fresh="cs_backup_test_${suffix}_fresh"
tmp="$(mktemp -d)"
dump="$tmp/course_supporter.dump"
failures=0

cleanup() {
    for db in "$src" "$fresh"; do
        psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

pass() { printf 'PASS  backup/restore: %s\n' "$1"; }
fail() { printf 'FAIL  backup/restore: %s\n' "$1"; failures=$((failures + 1)); }
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$1" -c "$2"; }

# Fingerprint of everything that matters: rows of every table, sequences, indexes.
fingerprint() {
    q "$1" "
      SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
        SELECT 'tenants:'  || md5(coalesce(string_agg(t::text, ',' ORDER BY t.id::text), '')) AS x FROM tenants t
        UNION ALL SELECT 'api_keys:' || md5(coalesce(string_agg(k::text, ',' ORDER BY k.id::text), '')) FROM api_keys k
        UNION ALL SELECT 'courses:'  || md5(coalesce(string_agg(c::text, ',' ORDER BY c.id::text), '')) FROM courses c
        UNION ALL SELECT 'seq:' || last_value::text FROM audit_seq
        UNION ALL SELECT 'idx:' || string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL SELECT 'tables:' || string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'
      ) s"
}

psql -q -d postgres -c "CREATE DATABASE \"$src\"" >/dev/null
q "$src" "
  CREATE TABLE tenants (id uuid PRIMARY KEY, name text UNIQUE NOT NULL, is_active boolean NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE api_keys (id uuid PRIMARY KEY, tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
                         key_hash char(64) UNIQUE NOT NULL, scopes jsonb NOT NULL, expires_at timestamptz);
  CREATE TABLE courses (id uuid PRIMARY KEY, tenant_id uuid NOT NULL REFERENCES tenants(id),
                        title text NOT NULL, expected_skills jsonb NOT NULL DEFAULT '[]', description text);
  CREATE INDEX ix_courses_tenant ON courses (tenant_id);
  CREATE SEQUENCE audit_seq;
  SELECT setval('audit_seq', 4242);
  INSERT INTO tenants SELECT md5('t' || i)::uuid, 'tenant-' || i, i % 5 <> 0, '2026-01-01'::timestamptz + i * interval '1 hour'
    FROM generate_series(1, 50) i;
  INSERT INTO api_keys SELECT md5('k' || i)::uuid, md5('t' || (i % 50 + 1))::uuid, encode(sha256(('key' || i)::bytea), 'hex'),
    '[\"prep\", \"check\"]'::jsonb, CASE WHEN i % 3 = 0 THEN now() + interval '90 days' END FROM generate_series(1, 200) i;
  INSERT INTO courses SELECT md5('c' || i)::uuid, md5('t' || (i % 50 + 1))::uuid, 'Курс ' || i || E' \"quoted\" \\\\ line\nbreak',
    jsonb_build_array('skill ' || i), repeat('x', i * 10) FROM generate_series(1, 2000) i;
" >/dev/null
before="$(fingerprint "$src")"

# --- backup
pg_dump -Fc --no-owner -d "$src" >"$dump"
if [[ -s "$dump" ]] && pg_restore --list "$dump" | grep -q "TABLE DATA public courses"; then
    pass "pg_dump -Fc wrote a readable archive ($(wc -c <"$dump") bytes; pg_restore --list ok)"
else
    fail "pg_dump -Fc archive unreadable"
fi

# --- restore into a fresh, empty database (new server / disaster recovery)
psql -q -d postgres -c "CREATE DATABASE \"$fresh\"" >/dev/null
if pg_restore --clean --if-exists --no-owner --exit-on-error --single-transaction -d "$fresh" <"$dump" \
    && [[ "$(fingerprint "$fresh")" == "$before" ]]; then
    pass "restore into an empty database reproduces every row, sequence and index"
else
    fail "restore into an empty database differs"
fi

# --- restore over the damaged original (roll back a bad change in place)
q "$src" "DELETE FROM api_keys WHERE tenant_id IN (SELECT id FROM tenants WHERE name = 'tenant-7');
          UPDATE courses SET title = 'oops'; DROP INDEX ix_courses_tenant;
          SELECT setval('audit_seq', 1);" >/dev/null
if [[ "$(fingerprint "$src")" == "$before" ]]; then
    fail "damage step did not change the database (test is broken)"
fi
if pg_restore --clean --if-exists --no-owner --exit-on-error --single-transaction -d "$src" <"$dump" \
    && [[ "$(fingerprint "$src")" == "$before" ]]; then
    pass "restore --clean over the damaged database brings back the backed-up state"
else
    fail "restore --clean over the damaged database differs"
fi

# --- a broken archive must fail loudly and change nothing
head -c 2000 "$dump" >"$tmp/truncated.dump"
snapshot="$(fingerprint "$src")"
if pg_restore --clean --if-exists --no-owner --exit-on-error --single-transaction -d "$src" \
    <"$tmp/truncated.dump" >/dev/null 2>&1; then
    fail "truncated archive was accepted"
elif [[ "$(fingerprint "$src")" == "$snapshot" ]]; then
    pass "truncated archive: pg_restore fails and --single-transaction leaves the database untouched"
else
    fail "truncated archive changed the database"
fi

[[ "$failures" -eq 0 ]]
